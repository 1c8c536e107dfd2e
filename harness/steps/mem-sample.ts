/**
 * Kernel memory across driver cycles (pure; unit-tested): /proc/meminfo
 * counters and /proc/slabinfo per-cache object counts, read in the guest,
 * and the judgement whether they grow with the number of cycles.
 *
 * A leak in the bind/unbind path grows with every cycle; one-time
 * allocations (a workqueue, an IDA layer, a cache created on first use)
 * happen in the first cycles and then stop. So memory is sampled after a
 * warm-up, half way and at the end, each time after dropping reclaimable
 * caches and flushing SLUB's per-CPU slabs, and the growth per cycle is
 * compared with a tolerance.
 */
/** One round trip: drop reclaimable caches, flush SLUB's per-CPU slabs (exact counts), read the figures. */
export const SLAB_SAMPLE_COMMAND = [
  // A second for RCU-deferred frees (task and mm structures of the processes that just ran) to land.
  'sleep 1; sync; echo 3 > /proc/sys/vm/drop_caches',
  'for f in /sys/kernel/slab/*/shrink; do echo 1 > "$f"; done 2>/dev/null',
  'cat /proc/meminfo',
  "echo '--- slabinfo'",
  'cat /proc/slabinfo 2>/dev/null',
  'true',
].join('\n');

export interface MemSample {
  /** /proc/meminfo in bytes. */
  meminfo: Record<string, number>;
  /** Cache name → active objects and object size; empty when the kernel has no /proc/slabinfo. */
  slab: Record<string, { active: number; size: number }>;
}

export function parseMeminfo(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^(\w+(?:\(\w+\))?):\s+(\d+)(?: kB)?$/gm)) out[m[1]!] = Number(m[2]) * (/kB$/.test(m[0]) ? 1024 : 1);
  return out;
}

export function parseSlabinfo(text: string): MemSample['slab'] {
  const out: MemSample['slab'] = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('slabinfo') || line.startsWith('#') || !line.trim()) continue;
    const [name, active, , size] = line.trim().split(/\s+/);
    if (name && /^\d+$/.test(active ?? '') && /^\d+$/.test(size ?? '')) out[name] = { active: Number(active), size: Number(size) };
  }
  return out;
}

export function parseSample(text: string): MemSample {
  const [mem = '', slab = ''] = text.split(/^--- slabinfo$/m);
  return { meminfo: parseMeminfo(mem), slab: parseSlabinfo(slab) };
}

/** The figures judged: objects of each watched cache, or bytes. */
export const FIGURES = ['objects', 'kmalloc', 'slab', 'percpu', 'vmalloc', 'used'] as const;
export type Figure = (typeof FIGURES)[number];

/**
 * What may grow between the sample after the warm-up and the last one: a
 * slack (absolute: what the harness's own activity and the kernel's
 * housekeeping move — kworkers started by async probing, sockets, RCU-deferred
 * frees) plus a rate per cycle. A leak grows with the cycles; noise does not.
 */
export interface LeakLimits {
  /** Caches whose objects belong to the devices that come and go (sysfs nodes, dax and block device inodes). */
  caches: string[];
  slack: Record<Figure, number>;
  perCycle: Record<Figure, number>;
}

export const DEFAULT_CACHES = ['kernfs_node_cache', 'kernfs_iattrs_cache', 'dax_cache', 'bdev_cache'];

export interface LeakVerdict {
  problems: string[];
  /** Figures for the result: growth per cycle of every judged figure, the caches that changed most. */
  details: Record<string, unknown>;
}

/** The figures of one sample, by name (bytes, or objects for `cache:NAME`); a figure the kernel does not offer is undefined. */
export function figures(s: MemSample, caches: string[]): Record<string, number | undefined> {
  const m = s.meminfo;
  const kmalloc = Object.entries(s.slab).filter(([n]) => n.startsWith('kmalloc-'));
  const used = [m.MemTotal, m.MemFree, m.Buffers, m.Cached, m.SReclaimable].every((x) => x !== undefined) ? m.MemTotal! - m.MemFree! - m.Buffers! - m.Cached! - m.SReclaimable! : undefined;
  return {
    SUnreclaim: m.SUnreclaim,
    Percpu: m.Percpu,
    VmallocUsed: m.VmallocUsed,
    used,
    kmalloc: kmalloc.length ? kmalloc.reduce((a, [, v]) => a + v.active * v.size, 0) : undefined,
    ...Object.fromEntries(caches.map((c) => [`cache:${c}`, s.slab[c]?.active])),
  };
}

const KIND: Record<string, Figure> = { SUnreclaim: 'slab', Percpu: 'percpu', VmallocUsed: 'vmalloc', used: 'used', kmalloc: 'kmalloc' };
const kindOf = (k: string): Figure => (k.startsWith('cache:') ? 'objects' : KIND[k]!);

/**
 * Judge `cycles` cycles from three samples: after the warm-up (`a`), half way
 * (`b`) and at the end (`c`). A figure leaks when it grew from a to c by more
 * than its slack plus its rate times the cycles AND grew in both halves: a
 * leak grows with every cycle, noise does not keep growing.
 */
export function judgeLeaks(a: MemSample, b: MemSample, c: MemSample, cycles: number, limits: LeakLimits): LeakVerdict {
  const problems: string[] = [];
  const fa = figures(a, limits.caches);
  const fb = figures(b, limits.caches);
  const fc = figures(c, limits.caches);
  const perCycle: Record<string, number> = {};
  for (const k of Object.keys(fa)) {
    const [x, y, z] = [fa[k], fb[k], fc[k]];
    if (x === undefined || y === undefined || z === undefined || cycles <= 0) continue;
    perCycle[k] = Math.round(((z - x) / cycles) * 100) / 100;
    const kind = kindOf(k);
    const allowed = limits.slack[kind] + limits.perCycle[kind] * cycles;
    if (z - x > allowed && y > x && z > y) {
      const unit = kind === 'objects' ? 'objects' : 'bytes';
      problems.push(`${kind === 'objects' ? `slab cache ${k.slice(6)}` : k} grew by ${z - x} ${unit} over ${cycles} cycles, in both halves (${perCycle[k]} per cycle; allowed ${limits.slack[kind]} + ${limits.perCycle[kind]} per cycle = ${allowed})`);
    }
  }
  const grown = Object.entries(c.slab)
    .map(([name, v]) => ({ name, delta: v.active - (a.slab[name]?.active ?? 0), bytes: (v.active - (a.slab[name]?.active ?? 0)) * v.size }))
    .filter((g) => g.delta !== 0)
    .sort((p, q) => Math.abs(q.bytes) - Math.abs(p.bytes));
  const samples = [fa, fb, fc].map((f) => Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)));
  return { problems, details: { cycles, perCycle, samples, topSlabChanges: Object.fromEntries(grown.slice(0, 8).map((g) => [g.name, g.delta])) } };
}
