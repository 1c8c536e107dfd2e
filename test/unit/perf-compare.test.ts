import t from 'tap';
import { betweenBootNoise, DEFAULT_JUDGE, judge, withinBootNoise } from '../../harness/perf/judge.js';
import { compareRuns } from '../../harness/perf/compare.js';
import { comparisonTap, hasRegression } from '../../harness/perf/compare-tap.js';
import { metric } from '../../harness/perf/metrics.js';
import type { CaseResult, Metric, RunResult } from '../../harness/model/results.js';
import { parseTap } from '../helpers/cli.js';

t.test('judge: verdicts need a change beyond the noise AND a significant rank test', async (t) => {
  const base = [100, 101, 99, 100, 102];
  t.equal(judge(base, [100, 99, 101, 100, 98], 'higher').verdict, 'unchanged');
  const slow = judge(base, [80, 79, 81, 80, 82], 'higher');
  t.equal(slow.verdict, 'regression', slow.why);
  t.ok(slow.change < -0.19 && slow.p < 0.01);
  t.equal(judge(base, [120, 121, 119, 120, 122], 'higher').verdict, 'improvement');
  t.equal(judge(base, [120, 121, 119, 120, 122], 'lower').verdict, 'regression', 'latency going up is a regression');
  t.equal(judge(base, [80, 79, 81, 80, 82], 'lower').verdict, 'improvement');
});

t.test('judge: noise raises the threshold', async (t) => {
  const noisy = [100, 92, 108, 96, 104];
  const j = judge(noisy, [90, 82, 98, 86, 94], 'higher');
  t.equal(j.verdict, 'unchanged', `-10 % within a noise of ${j.noise}: ${j.why}`);
  t.ok(j.threshold > 0.15, `threshold ${j.threshold}`);
});

t.test('judge: too wide a spread, too few samples, or not significant → inconclusive, never a pass', async (t) => {
  const wild = judge([100, 20, 300, 50, 200], [10, 5, 30, 8, 20], 'higher');
  t.equal(wild.verdict, 'inconclusive');
  t.match(wild.why, /spread too wide/);
  t.match(judge([100, 101], [50, 51], 'higher').why, /too few samples/);
  // The medians differ by more than the floor, but the samples overlap: the rank test does not back it.
  const overlap = judge([100, 100, 100, 100, 60], [85, 85, 85, 100, 100], 'higher');
  t.equal(overlap.verdict, 'inconclusive', overlap.why);
  t.match(overlap.why, /not significant/);
});

t.test('judge: a fixed floor stops tiny but consistent changes from failing', async (t) => {
  const j = judge([100, 100, 100], [98, 98, 98], 'higher', { ...DEFAULT_JUDGE, bootNoise: 0 });
  t.equal(j.verdict, 'unchanged');
  t.equal(j.threshold, DEFAULT_JUDGE.floor);
});

t.test('judge: with one boot per side, the boot-to-boot noise is the assumed figure', async (t) => {
  const j = judge([100, 100, 100], [98, 98, 98], 'higher');
  t.equal(j.betweenBootSource, 'assumed');
  t.equal(j.betweenBoot, DEFAULT_JUDGE.bootNoise);
  t.same(j.boots, { baseline: 1, current: 1 });
  t.ok(Math.abs(j.threshold - DEFAULT_JUDGE.z * DEFAULT_JUDGE.bootNoise * Math.SQRT2) < 1e-9, `threshold z·τ·√2 with no within-boot noise (${j.threshold})`);
});

t.test('judge: several baseline boots measure the boot-to-boot noise', async (t) => {
  const cur = [[80, 81, 79, 80, 80, 81, 79, 80]];
  // Three baseline boots that agree: a 20 % drop is a regression, and the threshold is well under 20 %.
  const tight = judge([[100, 101, 99, 100], [101, 100, 102, 101], [99, 100, 98, 99]], cur, 'higher');
  t.equal(tight.verdict, 'regression', tight.why);
  t.same(tight.boots, { baseline: 3, current: 1 });
  t.ok(tight.threshold < 0.15, `threshold ${tight.threshold}`);
  // Three baseline boots whose medians differ by ±20 %: the same drop is within what boots do.
  const loose = judge([[100, 101, 99, 100], [120, 121, 119, 120], [80, 81, 79, 80]], cur, 'higher');
  t.equal(loose.betweenBootSource, 'measured');
  t.ok(loose.betweenBoot > 0.15, `τ measured ${loose.betweenBoot}`);
  t.not(loose.verdict, 'regression', loose.why);
  t.ok(loose.threshold > 0.2, `threshold ${loose.threshold}`);
  // A flat list is one boot, as before.
  t.same(judge([100, 101, 99], [80, 81, 79], 'higher').boots, { baseline: 1, current: 1 });
});

t.test('judge: a noisy current run widens the threshold by its own noise only', async (t) => {
  const base = [100, 101, 99, 100, 100, 101, 99, 100];
  const noisyCur = [60, 75, 55, 70, 62, 58, 72, 66];
  const j = judge(base, noisyCur, 'higher');
  t.equal(j.verdict, 'regression', `a 35 % drop with a noisy current side is still caught: ${j.why}`);
});

t.test('noise helpers', async (t) => {
  t.equal(withinBootNoise([[100, 100, 100], [5]]), 0, 'a one-sample group adds nothing');
  t.equal(betweenBootNoise([[100]]), undefined, 'one boot: not measurable');
  t.ok(Math.abs(betweenBootNoise([[90], [110]])! - Math.SQRT2 * 0.1) < 1e-9, 'relative SD of boot medians about their mean');
  t.ok(Math.abs(betweenBootNoise([[90], [110]], [[45], [55]])! - Math.SQRT2 * 0.1) < 1e-9, 'pooled over sides, each about its own mean');
});

// ------------------------------------------------------------- run pairing

const bw = (samples: number[], key: Record<string, unknown> = { rw: 'read', bs: 4096 }): Metric => metric('fio:read-4k-psync:bw', 'MiB/s', 'higher', samples, key);

function caseOf(id: string, metrics: Metric[], over: Partial<CaseResult> = {}): CaseResult {
  return {
    id,
    scenario: 'perf',
    file: 'x.yaml',
    status: 'pass',
    startedAt: '',
    durationMs: 1,
    kernel: { name: 'debian-7.2', release: '7.2.13+deb14-amd64', source: 'debian', sha256: { vmlinuz: 'aa' }, ramdax: 'module' },
    image: { name: 'default', sha256: 'bb' },
    accel: { accel: 'tcg', reason: '' },
    cmdline: 'console=ttyS0 memmap=1G!4G',
    boot: {},
    points: [{ id: 1, name: 'fio read', kind: 'step', status: 'pass', durationMs: 1, metrics }],
    files: {},
    ...over,
  };
}
const runOf = (cases: CaseResult[]): RunResult => ({ runId: 'r', dir: '/x', startedAt: '', status: 'pass', harness: { version: '0', node: '' }, host: { cpu: '', cores: 2, loadavg: [] }, cases, counts: { pass: 0, fail: 0, error: 0, miss: 0, skip: 0 } });

t.test('pairs by case id and identical kernel/cmdline/image/accel/metric key only', async (t) => {
  const base = runOf([
    caseOf('a', [bw([100, 101, 99])]),
    caseOf('b', [bw([100, 101, 99])]),
    caseOf('c', [bw([100, 101, 99])]),
    caseOf('d', [bw([100, 101, 99], { rw: 'read', bs: 2097152 })]),
    caseOf('e', [bw([100, 101, 99])], { machine: { type: 'pc', cpus: 2, memoryBytes: 4 * 1024 ** 3 } }),
    caseOf('f', [bw([100, 101, 99])], { machine: { type: 'pc', cpus: 2, memoryBytes: 4 * 1024 ** 3, icount: 3 } }),
    caseOf('g', [bw([100, 101, 99])], { machine: { type: 'pc', cpus: 2, memoryBytes: 4 * 1024 ** 3, icount: 3 } }),
    caseOf('h', [bw([100, 101, 99])]),
    caseOf('gone', [bw([1, 1, 1])]),
  ]);
  const cur = runOf([
    caseOf('a', [bw([100, 100, 101])]),
    caseOf('b', [bw([100, 100, 101])], { kernel: { name: 'debian-7.2', release: '7.2.14+deb14-amd64', source: 'debian', sha256: { vmlinuz: 'cc' }, ramdax: 'module' } }),
    caseOf('c', [bw([100, 100, 101])], { accel: { accel: 'kvm', reason: '' } }),
    caseOf('d', [bw([100, 100, 101])]),
    caseOf('e', [bw([100, 100, 101])], { machine: { type: 'pc', cpus: 1, memoryBytes: 4 * 1024 ** 3 } }),
    caseOf('f', [bw([100, 100, 101])], { machine: { type: 'pc', cpus: 2, memoryBytes: 4 * 1024 ** 3, icount: 3 } }),
    caseOf('g', [bw([100, 100, 101])], { machine: { type: 'pc', cpus: 2, memoryBytes: 4 * 1024 ** 3 } }),
    caseOf('h', [bw([100, 100, 101])], { machine: { type: 'pc', cpus: 2, memoryBytes: 4 * 1024 ** 3 } }),
    caseOf('new', [bw([1, 1, 1])]),
  ]);
  const c = compareRuns(base, cur);
  t.same(c.compared.map((x) => x.caseId), ['a', 'f', 'h'], 'identical cases (same icount; a baseline from before machines were recorded) are compared');
  t.same(
    c.unpaired.map((u) => `${u.caseId}: ${u.reason}`),
    [
      'b: kernelRelease differs from the baseline: not comparable',
      'c: accel differs from the baseline: not comparable',
      'd: no metric with this name and key in the baseline',
      'd: in the baseline only',
      'e: cpus differs from the baseline: not comparable',
      'g: clock differs from the baseline: not comparable',
      'new: no such case in the baseline',
      'gone: case in the baseline only',
    ],
  );
});

t.test('comparison TAP: regression fails with medians and spreads, improvement passes with a note, inconclusive is a SKIP', async (t) => {
  const base = runOf([caseOf('slow', [bw([100, 101, 99, 100, 102])]), caseOf('fast', [bw([100, 101, 99, 100, 102])]), caseOf('wild', [bw([100, 20, 300, 50, 200])]), caseOf('same', [bw([100, 101, 99])])]);
  const cur = runOf([caseOf('slow', [bw([80, 79, 81, 80, 82])]), caseOf('fast', [bw([130, 131, 129, 130, 132])]), caseOf('wild', [bw([10, 5, 30, 8, 20])]), caseOf('same', [bw([101, 100, 99])])]);
  const c = compareRuns(base, cur);
  t.ok(hasRegression(c));
  const text = comparisonTap(c, { baseline: 'b', current: 'c' });
  const tap = await parseTap(text);
  t.same(tap.tapErrors, []);
  t.same(tap.extra, []);
  t.equal(tap.count, 4);
  t.equal(tap.fail, 1);
  t.equal(tap.skip, 1, 'inconclusive is a SKIP, not a pass');
  // Point names are stable metric ids (no figures): a history follows them across runs.
  t.match(text, /^not ok 1 - slow :: fio read :: fio:read-4k-psync:bw$/m);
  t.match(text, /^# perf regression: slow :: fio read :: fio:read-4k-psync:bw 100 → 80\.0 MiB\/s \(-20\.0 %\)$/m);
  t.match(text, /verdict: regression/);
  t.same(tap.points.map((p) => p.name), ['slow :: fio read :: fio:read-4k-psync:bw', 'fast :: fio read :: fio:read-4k-psync:bw', 'wild :: fio read :: fio:read-4k-psync:bw', 'same :: fio read :: fio:read-4k-psync:bw'], 'tap-parser reads the bare ids');
  t.match(text, /baseline:\n\s+median: 100\n\s+spread: 3\.0 %/);
  t.match(text, /current:\n\s+median: 80\n\s+spread: 3\.8 %/);
  t.match(text, /^ok 2 - fast :: fio read :: fio:read-4k-psync:bw\n[\s\S]*?verdict: improvement[\s\S]*?\n# perf improvement: fast .*: change \+30\.0 %/m);
  t.match(text, /^ok 3 - wild :: fio read :: fio:read-4k-psync:bw # SKIP inconclusive: spread too wide/m);
  t.match(text, /^ok 4 - same :: fio read :: fio:read-4k-psync:bw\n\s+---\n\s+verdict: unchanged\n\s+message: change .* within threshold/m);
  const same = compareRuns(base, base);
  t.notOk(hasRegression(same), 'a run compared with itself has no regression');
  t.equal(same.compared.filter((x) => x.judgement.verdict === 'improvement').length, 0);
});

t.test('nothing paired: a valid empty plan', async (t) => {
  const text = comparisonTap(compareRuns(runOf([]), runOf([caseOf('x', [bw([1, 2, 3])])])), { baseline: 'b', current: 'c' });
  const tap = await parseTap(text);
  t.same(tap.tapErrors, []);
  t.ok(tap.ok);
  t.match(text, /# unpaired: x: no such case in the baseline/);
});

t.test('several baseline runs: each identical one is a boot group; a differing one is left out', async (t) => {
  const cur = runOf([caseOf('a', [bw([80, 81, 79, 80, 80])])]);
  const boots = [
    runOf([caseOf('a', [bw([100, 101, 99, 100])])]),
    runOf([caseOf('a', [bw([101, 100, 102, 101])])]),
    runOf([caseOf('a', [bw([99, 100, 98, 99])])]),
    runOf([caseOf('a', [bw([10, 10, 10, 10])], { accel: { accel: 'kvm', reason: '' } })]),
  ];
  const c = compareRuns(boots, cur);
  t.equal(c.compared.length, 1);
  const x = c.compared[0]!;
  t.same(x.judgement.boots, { baseline: 3, current: 1 }, 'the KVM run is not a group');
  t.equal(x.baseline.samples.length, 12, 'the baseline metric holds every sample of the groups');
  t.equal(x.baseline.median, 100);
  t.equal(x.judgement.verdict, 'regression', x.judgement.why);
  const text = comparisonTap(c, { baseline: 'b1, b2, b3', current: 'c' });
  t.match(text, /betweenBoot: .* \((measured|assumed)\)/);
  t.match(text, /boots:\n\s+baseline: 3\n\s+current: 1/);
  t.same(compareRuns([boots[3]!], cur).unpaired.map((u) => u.reason), ['accel differs from the baseline: not comparable']);
});
