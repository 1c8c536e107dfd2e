import t from 'tap';
import { DEFAULT_CACHES, figures, judgeLeaks, parseMeminfo, parseSample, parseSlabinfo, type LeakLimits, type MemSample } from '../../harness/steps/mem-sample.js';

const meminfo = (o: { sunreclaim?: number; percpu?: number; free?: number } = {}) => `MemTotal:        4020000 kB
MemFree:         ${o.free ?? 3500000} kB
Buffers:            2000 kB
Cached:            60000 kB
Slab:              40000 kB
SReclaimable:      20000 kB
SUnreclaim:        ${o.sunreclaim ?? 13000} kB
KernelStack:        2000 kB
PageTables:         1000 kB
Percpu:             ${o.percpu ?? 552} kB
VmallocUsed:        9000 kB
HugePages_Total:       0
`;
const slabinfo = (caches: Record<string, [number, number]>) =>
  `slabinfo - version: 2.1
# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>
${Object.entries(caches).map(([n, [a, s]]) => `${n.padEnd(18)} ${a} ${a + 10} ${s} 32 1 : tunables 0 0 0 : slabdata 3 3 0`).join('\n')}
`;
const sample = (caches: Record<string, [number, number]>, o: Parameters<typeof meminfo>[0] = {}): MemSample => parseSample(`${meminfo(o)}--- slabinfo\n${slabinfo(caches)}`);
const limits: LeakLimits = {
  caches: DEFAULT_CACHES,
  slack: { objects: 16, kmalloc: 128 * 1024, slab: 512 * 1024, percpu: 128 * 1024, vmalloc: 256 * 1024, used: 16 * 1024 ** 2 },
  perCycle: { objects: 0.5, kmalloc: 1024, slab: 4096, percpu: 1024, vmalloc: 4096, used: 256 * 1024 },
};
const base = { kernfs_node_cache: [18000, 136], dax_cache: [56, 768], bdev_cache: [24, 1600], 'kmalloc-64': [2500, 64], 'kmalloc-1k': [348, 1024], mm_struct: [40, 1792] } satisfies Record<string, [number, number]>;
const grow = (d: Partial<Record<keyof typeof base, number>>) => Object.fromEntries(Object.entries(base).map(([k, [a, s]]) => [k, [a + (d[k as keyof typeof base] ?? 0), s]])) as Record<string, [number, number]>;

t.test('parse meminfo and slabinfo', async (t) => {
  const m = parseMeminfo(meminfo({ sunreclaim: 12345 }));
  t.equal(m.SUnreclaim, 12345 * 1024, 'kB become bytes');
  t.equal(m.HugePages_Total, 0, 'counts without a unit stay counts');
  const s = parseSlabinfo(slabinfo({ kernfs_node_cache: [30000, 128], dax_cache: [4, 1216] }));
  t.same(s, { kernfs_node_cache: { active: 30000, size: 128 }, dax_cache: { active: 4, size: 1216 } });
  t.same(parseSample(meminfo()).slab, {}, 'no /proc/slabinfo (SLUB_TINY kernels): no caches');
});

t.test('figures: what is judged', async (t) => {
  const f = figures(sample(base), DEFAULT_CACHES);
  t.equal(f.used, (4020000 - 3500000 - 2000 - 60000 - 20000) * 1024, 'memory in use without page cache and reclaimable slab');
  t.equal(f.kmalloc, 2500 * 64 + 348 * 1024, 'all kmalloc caches, in bytes');
  t.equal(f['cache:kernfs_node_cache'], 18000);
  t.equal(f['cache:kernfs_iattrs_cache'], undefined, 'a cache the kernel does not have is not judged');
  t.equal(figures(parseSample(meminfo()), DEFAULT_CACHES).kmalloc, undefined, 'no slabinfo: no kmalloc figure');
});

t.test('judgeLeaks: noise passes, growth in both halves beyond slack + rate fails, naming the figure', async (t) => {
  const a = sample(base);
  const noise = judgeLeaks(a, sample(grow({ kernfs_node_cache: 6, 'kmalloc-64': 40, mm_struct: 12 })), sample(grow({ kernfs_node_cache: 4, 'kmalloc-64': 20, mm_struct: 12 }), { sunreclaim: 13040 }), 16, limits);
  t.same(noise.problems, [], 'a few objects up then down again is noise');
  t.equal(noise.details.cycles, 16);
  t.match(noise.details.perCycle, { 'cache:kernfs_node_cache': 0.25, SUnreclaim: 2560 });
  t.same(Object.keys(noise.details.topSlabChanges as object)[0], 'mm_struct', 'the biggest change first (bytes)');

  // 16 cycles: kernfs allows 16 + 0.5 × 16 = 24 objects, SUnreclaim 512 KiB + 64 KiB.
  const leak = judgeLeaks(a, sample(grow({ kernfs_node_cache: 72, dax_cache: 8, 'kmalloc-1k': 8 }), { sunreclaim: 13000 + 300 }), sample(grow({ kernfs_node_cache: 144, dax_cache: 16, 'kmalloc-1k': 16 }), { sunreclaim: 13000 + 600 }), 16, limits);
  t.same(leak.problems, [
    'SUnreclaim grew by 614400 bytes over 16 cycles, in both halves (38400 per cycle; allowed 524288 + 4096 per cycle = 589824)',
    'slab cache kernfs_node_cache grew by 144 objects over 16 cycles, in both halves (9 per cycle; allowed 16 + 0.5 per cycle = 24)',
  ], 'dax_cache grew 16, within 16 + 8; kmalloc 16 KiB, within its slack');

  const once = judgeLeaks(a, sample(grow({ kernfs_node_cache: 144 })), sample(grow({ kernfs_node_cache: 144 })), 16, limits);
  t.same(once.problems, [], 'growth in one half only is a one-time allocation, not a leak');

  const long = judgeLeaks(a, sample(grow({ dax_cache: 25 })), sample(grow({ dax_cache: 50 })), 50, limits);
  t.match(long.problems, [/^slab cache dax_cache grew by 50 objects over 50 cycles, in both halves \(1 per cycle; allowed 16 \+ 0\.5 per cycle = 41\)$/], 'one dax device per cycle, over a nightly run');

  const pcpu = judgeLeaks(a, sample(base, { percpu: 552 + 100 }), sample(base, { percpu: 552 + 200 }), 16, limits);
  t.match(pcpu.problems, [/^Percpu grew by 204800 bytes over 16 cycles, in both halves \(12800 per cycle; allowed 131072 \+ 1024 per cycle = 147456\)$/]);

  const pages = judgeLeaks(a, sample(base, { free: 3500000 - 16384 }), sample(base, { free: 3500000 - 32768 }), 16, limits);
  t.match(pages.problems, [/^used grew by 33554432 bytes over 16 cycles, in both halves/], 'struct pages of a map=mem namespace (2 MiB per cycle) that are never freed');
});
