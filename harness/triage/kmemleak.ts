/**
 * Reports of /sys/kernel/debug/kmemleak as findings (pure; unit-tested).
 *
 *     unreferenced object 0xffff888004a1c000 (size 64):      (or "object (percpu) 0x…")
 *       comm "sh", pid 201, jiffies 4294893245
 *       hex dump (first 32 bytes):
 *         00 00 ...
 *       backtrace (crc 1a2b3c4d):
 *         kmemleak_alloc+0x4a/0x80          (older kernels: [<ffffffff8123abcd>] kmemleak_alloc+...)
 *         __kmalloc_noprof+0x1a2/0x3f0
 *         nd_region_create+0x58/0x3a0
 *
 * One finding per distinct leak: titled by the object size and the first
 * frame that is not the allocator itself, so the same leak found in several
 * objects (or in a re-run) has one stable title.
 */
import type { Finding } from './findings.js';

/** Allocator frames, skipped to find who allocated. */
export const ALLOCATOR =
  /^(kmemleak_\w+|__?kmalloc\w*|kmalloc\w*|__?kmem_cache_alloc\w*|kmem_cache_alloc\w*|slab_post_alloc_hook|__?kvmalloc\w*|kvzalloc\w*|kzalloc\w*|kcalloc\w*|krealloc\w*|kmemdup\w*|kstrdup\w*|kvasprintf\w*|kasprintf\w*|__?alloc_pages\w*|alloc_pages\w*|__?get_free_pages|__?vmalloc\w*|vzalloc\w*|pcpu_alloc\w*|__?alloc_percpu\w*|devm_kmalloc|__devres_alloc\w*|alloc_dr|kobject_set_name_vargs|dev_set_name|xa_\w+|xas_\w+|idr_\w+|ida_alloc\w*|radix_tree_\w+|__?kmem_cache_alloc_node\w*|kmalloc_node\w*|kmalloc_trace\w*|__kmalloc_cache\w*)$/;

export function kmemleakFindings(report: string): Finding[] {
  const lines = report.split('\n').map((l) => l.trimEnd());
  const out: Finding[] = [];
  const seen = new Set<string>();
  lines.forEach((line, i) => {
    const m = /^unreferenced object((?: \(\w+\))?) 0x[0-9a-f]+ \(size (\d+)\):/.exec(line.trim());
    if (!m) return;
    let end = lines.findIndex((l, j) => j > i && /^unreferenced object /.test(l.trim()));
    if (end < 0) end = lines.length;
    const block = lines.slice(i, end);
    const bt = block.findIndex((l) => /^\s*backtrace/.test(l));
    const frames = bt < 0 ? [] : block.slice(bt + 1).map(frameName).filter((f): f is string => !!f);
    const caller = frames.find((f) => !ALLOCATOR.test(f));
    const title = `kmemleak: unreferenced object${m[1]} (size ${m[2]}) allocated by ${caller ?? frames[0] ?? 'unknown'}`;
    if (seen.has(title)) return;
    seen.add(title);
    out.push({ type: 'kmemleak', title, line: line.trim(), context: block.slice(0, 24) });
  });
  return out;
}

/** `    [<ffffffff8123abcd>] nd_region_create+0x58/0x3a0 [libnvdimm]` → `nd_region_create`. */
export function frameName(line: string): string | undefined {
  const m = /^\s*(?:\[<[0-9a-f]+>\]\s*)?([A-Za-z_][\w.]*)\+0x[0-9a-f]+\/0x[0-9a-f]+/.exec(line);
  return m?.[1];
}
