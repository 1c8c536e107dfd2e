import t from 'tap';
import { judgeLeaks, parseMeminfo, parseSample, parseSlabinfo, theilSen, type LeakLimits, type MemSample } from '../../harness/steps/mem-sample.js';

const meminfo = (sunreclaim: number, percpu = 1024) => `MemTotal:        4020000 kB
MemFree:         3500000 kB
Slab:              40000 kB
SReclaimable:      20000 kB
SUnreclaim:        ${sunreclaim} kB
KernelStack:        2000 kB
PageTables:         1000 kB
Percpu:             ${percpu} kB
VmallocUsed:        9000 kB
HugePages_Total:       0
`;
const slabinfo = (caches: Record<string, [number, number]>) =>
  `slabinfo - version: 2.1
# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>
${Object.entries(caches).map(([n, [a, s]]) => `${n.padEnd(18)} ${a} ${a + 10} ${s} 32 1 : tunables 0 0 0 : slabdata 3 3 0`).join('\n')}
`;
const sample = (sun: number, caches: Record<string, [number, number]>, percpu = 1024): MemSample => parseSample(`${meminfo(sun, percpu)}--- slabinfo\n${slabinfo(caches)}`);
const limits: LeakLimits = { slabBytesPerCycle: 4096, objectsPerCycle: 0.5, otherBytesPerCycle: 4096 };

t.test('parse meminfo and slabinfo', async (t) => {
  const m = parseMeminfo(meminfo(12345));
  t.equal(m.SUnreclaim, 12345 * 1024, 'kB become bytes');
  t.equal(m.HugePages_Total, 0, 'counts without a unit stay counts');
  const s = parseSlabinfo(slabinfo({ kernfs_node_cache: [30000, 128], dax_cache: [4, 1216] }));
  t.same(s, { kernfs_node_cache: { active: 30000, size: 128 }, dax_cache: { active: 4, size: 1216 } });
  t.same(parseSample(meminfo(1)).slab, {}, 'no /proc/slabinfo (SLUB_TINY kernels): no caches');
});

t.test('theilSen: robust slope', async (t) => {
  t.equal(theilSen([{ x: 1, y: 10 }, { x: 2, y: 20 }, { x: 3, y: 30 }]), 10);
  t.equal(theilSen([{ x: 1, y: 5 }, { x: 2, y: 5 }, { x: 3, y: 5000 }, { x: 4, y: 5 }, { x: 5, y: 5 }]), 0, 'one outlier does not make a trend');
  t.equal(theilSen([{ x: 1, y: 1 }]), undefined);
});

t.test('judgeLeaks: flat memory passes, per-cycle growth fails with the cache named', async (t) => {
  const flat = Array.from({ length: 20 }, (_, i) => ({ x: i + 4, y: 50_000_000 + ((i * 7919) % 5) * 4096 }));
  const a = sample(48828, { kernfs_node_cache: [30000, 128], dax_cache: [4, 1216], 'kmalloc-64': [9000, 64] });
  const ok = judgeLeaks(a, sample(48830, { kernfs_node_cache: [30004, 128], dax_cache: [4, 1216], 'kmalloc-64': [9003, 64] }), 20, flat, limits);
  t.same(ok.problems, [], 'a few objects more after 20 cycles is noise, not a leak');
  t.same(ok.details.slabGrowth, { kernfs_node_cache: 4, 'kmalloc-64': 3 });

  const leak = judgeLeaks(a, sample(48900, { kernfs_node_cache: [30000 + 20 * 9, 128], dax_cache: [24, 1216], 'kmalloc-64': [9000, 64] }), 20, flat, limits);
  t.equal(leak.problems.length, 2);
  t.match(leak.problems.join('\n'), /slab cache kernfs_node_cache grew by 180 objects of 128 bytes over 20 cycles/);
  t.match(leak.problems.join('\n'), /slab cache dax_cache grew by 20 objects/);

  const rising = Array.from({ length: 20 }, (_, i) => ({ x: i + 4, y: 50_000_000 + i * 8192 }));
  const trend = judgeLeaks(a, a, 20, rising, limits);
  t.match(trend.problems[0], /^unreclaimable slab grows by 8192 bytes per cycle/);
  t.equal(trend.details.sunreclaimBytesPerCycle, 8192);

  const pcpu = judgeLeaks(a, sample(48828, {}, 1024 + 20 * 8), 20, flat, limits);
  t.match(pcpu.problems.join('\n'), /Percpu grew by 163840 bytes over 20 cycles \(8192 per cycle/);
});
