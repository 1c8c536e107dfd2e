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
const limits: LeakLimits = { caches: DEFAULT_CACHES, objectsPerCycle: 0.5, kmallocBytesPerCycle: 2048, slabBytesPerCycle: 4096, otherBytesPerCycle: 4096, usedBytesPerCycle: 65536 };
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

t.test('judgeLeaks: noise passes, growth in both halves beyond the tolerance fails, naming the figure', async (t) => {
  const a = sample(base);
  const noise = judgeLeaks(a, sample(grow({ kernfs_node_cache: 6, 'kmalloc-64': 40, mm_struct: 12 })), sample(grow({ kernfs_node_cache: 4, 'kmalloc-64': 20, mm_struct: 12 }), { sunreclaim: 13040 }), 16, limits);
  t.same(noise.problems, [], 'a few objects up then down again is noise');
  t.equal(noise.details.cycles, 16);
  t.match(noise.details.perCycle, { 'cache:kernfs_node_cache': 0.25, SUnreclaim: 2560 });
  t.same(Object.keys(noise.details.topSlabChanges as object)[0], 'mm_struct', 'the biggest change first (bytes)');

  const leak = judgeLeaks(a, sample(grow({ kernfs_node_cache: 72, dax_cache: 8, 'kmalloc-1k': 8 }), { sunreclaim: 13100 }), sample(grow({ kernfs_node_cache: 144, dax_cache: 16, 'kmalloc-1k': 16 }), { sunreclaim: 13200 }), 16, limits);
  t.same(leak.problems, [
    'SUnreclaim grew by 204800 bytes over 16 cycles, in both halves (12800 per cycle; tolerance 4096)',
    'slab cache kernfs_node_cache grew by 144 objects over 16 cycles, in both halves (9 per cycle; tolerance 0.5)',
    'slab cache dax_cache grew by 16 objects over 16 cycles, in both halves (1 per cycle; tolerance 0.5)',
  ], 'kmalloc grew 1024 bytes per cycle, under its tolerance');

  const once = judgeLeaks(a, sample(grow({ kernfs_node_cache: 144 })), sample(grow({ kernfs_node_cache: 144 })), 16, limits);
  t.same(once.problems, [], 'growth in one half only is a one-time allocation, not a leak');

  const pcpu = judgeLeaks(a, sample(base, { percpu: 552 + 40 }), sample(base, { percpu: 552 + 80 }), 16, limits);
  t.match(pcpu.problems, [/^Percpu grew by 81920 bytes over 16 cycles, in both halves \(5120 per cycle; tolerance 4096\)$/]);

  const pages = judgeLeaks(a, sample(base, { free: 3500000 - 8192 }), sample(base, { free: 3500000 - 16384 }), 16, limits);
  t.match(pages.problems, [/^used grew by 16777216 bytes over 16 cycles, in both halves \(1048576 per cycle; tolerance 65536\)$/], 'struct pages of a map=mem namespace that are never freed');
});
