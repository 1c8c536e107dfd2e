import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { charts, deltas, keyString, metricRows, metricsCsv, metricsJson, type MetricRow } from '../../harness/report/metrics.js';
import { niceMax } from '../../harness/report/svg.js';
import type { Metric, RunResult } from '../../harness/model/results.js';
import { root } from '../helpers/cli.js';

const run = JSON.parse(readFileSync(join(root, 'test', 'fixtures', 'report', 'results.json'), 'utf8')) as RunResult;

function row(m: Partial<Metric> & { key: Record<string, unknown> }, caseId = 'c'): MetricRow {
  const samples = m.samples ?? [1, 2, 3];
  return { runId: 'r', caseId, scenario: 's', point: 'p', kernel: 'k', accel: 'tcg', name: 'fio:x:bw', unit: 'MiB/s', better: 'higher', median: 2, spread: 1, ...m, samples };
}

t.test('metric rows carry case, kernel and accel', async (t) => {
  const rows = metricRows(run);
  t.equal(rows.length, 12);
  t.match(rows[0], { runId: run.runId, caseId: 'perf-backends', kernel: '7.2.13+deb14-amd64', accel: 'tcg', name: 'fio:seq-read:bw', point: 'fio seq-read on 4 backends' });
  t.equal(rows[0]!.samples.length, 3);
  const icount = metricRows({ ...run, cases: run.cases.map((c) => ({ ...c, machine: { type: 'pc', cpus: 2, memoryBytes: 4 * 1024 ** 3, icount: 3 } })) });
  t.equal(icount[0]!.accel, 'tcg icount=3', 'instruction-counted time is told apart from host time');
});

t.test('metrics.csv: one line per sample, fields quoted when needed', async (t) => {
  const csv = metricsCsv(metricRows(run)).trimEnd().split('\n');
  t.equal(csv[0], 'run,case,scenario,point,kernel,accel,metric,unit,better,key,median,spread,sample_index,sample');
  t.equal(csv.length, 1 + 12 * 3);
  t.match(csv[1], /^2026-11-27T05-00-00Z-1,perf-backends,perf-backends,fio seq-read on 4 backends,7\.2\.13\+deb14-amd64,tcg,fio:seq-read:bw,MiB\/s,higher,"backend=fsdax,bs=1M,rw=read",900,0\.0[89]\d*,0,855$/);
  const tricky = metricsCsv([row({ key: { note: 'say "hi"' } }, 'a,b')]).split('\n')[1];
  t.match(tricky, /^r,"a,b",s,p,k,tcg,fio:x:bw,MiB\/s,higher,"note=say ""hi""",2,1,0,1$/);
});

t.test('metrics.json keeps every sample', async (t) => {
  const j = JSON.parse(metricsJson(run, metricRows(run)));
  t.equal(j.runId, run.runId);
  t.equal(j.metrics.length, 12);
  t.same(j.metrics[0].samples, [855, 900, 936]);
});

t.test('keyString is independent of field order', async (t) => {
  t.equal(keyString({ b: 1, a: 'x' }), keyString({ a: 'x', b: 1 }));
  t.equal(keyString({ a: { z: 1 } }), 'a={"z":1}');
});

t.test('charts: series from backend, else the case; groups only name varying fields', async (t) => {
  // As the shipped perf scenarios record them: one case per backend, same workload, same target path.
  const fioLike = [
    row({ key: { step: 'fio', target: '/mnt/perf/fio.dat', rw: 'read', bs: 4096, size: 1 } }, 'perf-tmpfs'),
    row({ key: { step: 'fio', target: '/mnt/perf/fio.dat', rw: 'read', bs: 4096, size: 1 } }, 'perf-fsdax[fs=ext4,dax=pagecache]'),
    row({ key: { step: 'fio', target: '/mnt/perf/fio.dat', rw: 'read', bs: 4096, size: 1 } }, 'perf-fsdax[fs=ext4,dax=dax]'),
    row({ key: { step: 'fio', target: '/mnt/perf/fio.dat', rw: 'read', bs: 4096, size: 1 } }, 'perf-virtio-blk'),
    row({ key: { step: 'fio', target: '/mnt/perf/fio.dat', rw: 'read', bs: 1048576, size: 1 } }, 'perf-tmpfs'),
  ];
  const [c] = charts(fioLike);
  t.same(c!.series, ['perf-fsdax[fs=ext4,dax=dax]', 'perf-fsdax[fs=ext4,dax=pagecache]', 'perf-virtio-blk', 'perf-tmpfs'], 'fsdax, page cache, virtio-blk, tmpfs');
  t.same(c!.groups.map((g) => g.label), ['bs=4096', 'bs=1048576']);
  t.same(c!.groups[0]!.bars.map((b) => b.series), c!.series);
  const single = charts([row({ name: 'boot:ssh-ready', key: {} }, 'case-a'), row({ name: 'boot:ssh-ready', key: {} }, 'case-b')]);
  t.same(single[0]!.series, ['case-a', 'case-b']);
  t.same(single[0]!.groups.map((g) => g.label), ['boot:ssh-ready'], 'no key, two-part name: the name is the label');
  const twoKernels = charts([row({ key: { backend: 'tmpfs' } }, 'k1'), row({ key: { backend: 'tmpfs' } }, 'k2'), row({ key: { backend: 'fsdax' } }, 'k1')]);
  t.same(twoKernels[0]!.series, ['fsdax', 'tmpfs (k1)', 'tmpfs (k2)'], 'same backend twice: the case tells them apart; fsdax first');
});

t.test('charts: a family shares a chart per unit, never mixing units', async (t) => {
  const rows = [
    row({ name: 'boot:kernel-start', unit: 'ms', better: 'lower', key: {} }, 'a'),
    row({ name: 'boot:init-start', unit: 'ms', better: 'lower', key: {} }, 'a'),
    row({ name: 'boot:kernel-start', unit: 'ms', better: 'lower', key: {} }, 'b'),
    row({ name: 'fio:r:bw', unit: 'MiB/s', key: { backend: 'tmpfs' } }),
    row({ name: 'fio:r:lat-p50', unit: 'µs', better: 'lower', key: { backend: 'tmpfs' } }),
  ];
  const c = charts(rows);
  t.same(c.map((x) => x.name), ['boot:{kernel-start,init-start}', 'fio:r:bw', 'fio:r:lat-p50']);
  t.same(c[0]!.groups.map((g) => [g.label, g.bars.map((b) => b.series)]), [['kernel-start', ['a', 'b']], ['init-start', ['a']]]);
});

t.test('deltas: verdict follows `better`, noise is the larger spread', async (t) => {
  const base = [row({ key: { w: 1 }, median: 100, spread: 0.05 }), row({ key: { w: 2 }, median: 100, spread: 0.05, better: 'lower' }), row({ key: { w: 3 }, median: 100, spread: 0.05 })];
  const now = [row({ key: { w: 1 }, median: 90, spread: 0.02 }), row({ key: { w: 2 }, median: 90, spread: 0.02, better: 'lower' }), row({ key: { w: 3 }, median: 103, spread: 0.01 }), row({ key: { w: 4 } })];
  const d = deltas(now, base);
  t.same(d.pairs.map((p) => p.verdict), ['worse', 'better', 'same']);
  t.equal(d.pairs[0]!.change, -0.1);
  t.equal(d.unmatched.length, 1);
});

t.test('niceMax picks 1/2/2.5/5 steps', async (t) => {
  t.same([niceMax(0), niceMax(0.7), niceMax(1.2), niceMax(230), niceMax(2600), niceMax(9000)], [1, 1, 2, 250, 5000, 10000]);
});
