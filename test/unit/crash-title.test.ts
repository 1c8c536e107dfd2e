// Crash titles in syzbot's form for every golden console, report extents and frames (pure).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findFindings, titleFor } from '../../harness/triage/findings.js';
import { baseFunction, framesOf, parseFrame } from '../../harness/triage/trace.js';

const DIR = fileURLToPath(new URL('../fixtures/consoles/', import.meta.url));
const lines = (n: string) => readFileSync(`${DIR}${n}.log`, 'utf8').split(/\r?\n/);

// Written by hand from each log, the way syzbot would title it.
const EXPECTED: Record<string, string[]> = {
  'boot-bad-init': ['kernel panic: Attempted to kill init!'],
  'boot-no-root': ['kernel panic: VFS: Unable to mount root fs on unknown-block(0,0)'],
  'guest-panic': ['kernel panic: sysrq triggered crash'],
  'hung-task': ['INFO: task hung in mnt_want_write'],
  'kernel-warning': ['WARNING in ramdax_probe'],
  'real-warning-beyond-ram': ['WARNING in memmap_init_compound'],
  // Debian 7.2.13 arm64, scenarios/arm64/edge/reserved-no-map.yaml (2026-11-30): pc is memcpy, lr the ramdax function that called it.
  'real-oops-arm64-no-map': ['Unable to handle kernel paging request in ramdax_ctl'],
  // Same kernel, scenarios/arm64/edge/unbacked.yaml: nd_pmem (via of_pmem) reads guest-physical memory QEMU does not back.
  'real-sea-arm64-unbacked': ['Internal error: synchronous external abort in nsio_rw_bytes'],
  'synthetic-bug': ['kernel BUG in nd_label_alloc_slot'],
  'synthetic-gpf': ['general protection fault in nd_mapping_free_labels'],
  'synthetic-hard-lockup': ['watchdog: hard LOCKUP in __add_badblock_range'],
  'synthetic-kasan': ['KASAN: slab-out-of-bounds Read in __nd_label_validate'],
  'synthetic-kfence': ['KFENCE: use-after-free read in del_labels'],
  'synthetic-oops': ['BUG: kernel NULL pointer dereference in __pmem_label_update'],
  'synthetic-rcu-stall': ['INFO: rcu detected stall in __add_badblock_range'],
  'synthetic-soft-lockup': ['INFO: rcu detected stall in nd_region_acquire_lane', 'BUG: soft lockup in nd_region_acquire_lane'],
  'synthetic-ubsan': ['UBSAN: array-index-out-of-bounds in nd_label_data_init'],
  'sysrq-backtrace': ['NMI backtrace in __handle_sysrq'],
  'clean-fsdax-ext4': [],
};

for (const [name, titles] of Object.entries(EXPECTED)) {
  t.test(name, async (t) => {
    const fs = findFindings(lines(name));
    t.same(fs.map((f) => f.crashTitle), titles);
    for (const f of fs) {
      t.equal(titleFor({ ...f, crashTitle: undefined }), f.crashTitle, 'recomputed from a stored finding without it');
      t.ok(f.report!.some((l) => l.trimEnd() === f.line), 'the report holds its own line');
    }
  });
}

t.test('the real WARNING report runs from cut here to the end marker, with its whole trace', async (t) => {
  const [f] = findFindings(lines('real-warning-beyond-ram'));
  t.match(f!.report![0], /cut here/);
  t.match(f!.report!.at(-1), /---\[ end trace/);
  const frames = framesOf(f!.report!);
  t.same(frames[0], { fn: 'memmap_init_compound.constprop.0', offset: 0x16f, length: 0x1e0, module: undefined, unreliable: false, rip: true });
  t.ok(frames.some((x) => x.fn === 'dev_dax_probe' && x.module === 'device_dax'), 'module frames keep their module');
  t.ok(frames.length > 30);
});

t.test('frames and clone suffixes', async (t) => {
  t.same(parseFrame('? __pm_runtime_resume+0x5f/0x90'), { fn: '__pm_runtime_resume', offset: 0x5f, length: 0x90, module: undefined, unreliable: true, rip: false });
  t.equal(parseFrame('RIP: 0033:0x7f9ddd7de3a7'), undefined, 'a user-space RIP is no frame');
  t.equal(baseFunction('memmap_init_compound.constprop.0'), 'memmap_init_compound');
  t.equal(baseFunction('foo.isra.0.cold'), 'foo');
});

t.test('arm64 register lines: pc is the exact address, lr its caller', async (t) => {
  t.same(parseFrame('pc : __pi_memcpy_generic+0x3c/0x230'), { fn: '__pi_memcpy_generic', offset: 0x3c, length: 0x230, module: undefined, unreliable: false, rip: true });
  t.same(parseFrame('lr : ramdax_ctl+0x168/0x190 [ramdax]'), { fn: 'ramdax_ctl', offset: 0x168, length: 0x190, module: 'ramdax', unreliable: false, rip: false });
  const [f] = findFindings(lines('real-oops-arm64-no-map'));
  t.match(f!.report![0], /Unable to handle kernel paging request at virtual address fff00000fffe0000/);
  t.match(f!.report!.at(-1), /---\[ end trace/);
  t.ok(f!.report!.some((l) => /Internal error: Oops/.test(l)), 'the Internal error line is part of the same report, not a second finding');
  t.ok(framesOf(f!.report!).some((x) => x.fn === 'ramdax_register_dimm' && x.module === 'ramdax'));
});
