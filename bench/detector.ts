/**
 * Detector benchmark (prints figures; not a test). How often does `compare`
 * give a verdict when nothing changed (false verdicts), and how often does it
 * catch a real 20 % slowdown (detection)?
 *
 * Method: all samples are REAL fio figures from separate boots of
 * bench/detector-scenario.yaml on real QEMU. `--collect K` boots it K times
 * unchanged and K times SLOWED, alternating: the slowed runs put the harness
 * and its QEMU in a cpu cgroup capped at `--throttle` % of one CPU (default
 * 80: the TCG vCPU that runs fio gets 20 % less time), a slowdown injected
 * from outside the guest. Booting thousands of baseline/current pairs under
 * TCG is not affordable, so pairs are formed by resampling: n samples from
 * one unchanged boot as baseline and n from ANOTHER boot as current (so
 * boot-to-boot variation is in the noise), drawn without replacement.
 *   - false verdict: current from another unchanged boot, verdict regression
 *     or improvement;
 *   - detection: current from a slowed boot, verdict regression;
 *   - for comparison, the old arithmetic injection (bw ÷ 1.2, lat × 1.2) on
 *     unchanged samples.
 *
 *   npx tsx bench/detector.ts --collect 4 --repeat 10     # boot 2×4 times, then evaluate
 *   npx tsx bench/detector.ts --unchanged DIR [--slowed DIR]   # evaluate run folders in DIRs
 */
import { execa } from 'execa';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readRun } from '../harness/cli/compare-command.js';
import { DEFAULT_JUDGE, judge, type Verdict } from '../harness/perf/judge.js';
import { median, relativeMad } from '../harness/perf/stats.js';
import type { Metric } from '../harness/results/model.js';

const root = resolve(import.meta.dirname, '..');
const { values: o, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    collect: { type: 'string' },
    repeat: { type: 'string', default: '10' },
    throttle: { type: 'string', default: '80' },
    unchanged: { type: 'string' },
    slowed: { type: 'string' },
    trials: { type: 'string', default: '2000' },
    n: { type: 'string', default: '3,5' },
    seed: { type: 'string', default: '1' },
  },
});

// A small seeded PRNG (mulberry32) so the printed figures can be reproduced.
let state = Number(o.seed) >>> 0;
function rand(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
function draw<T>(xs: readonly T[], k: number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, k);
}

/** A cpu cgroup capped at `percent` % of one CPU (cgroup v1 cpu controller or v2 cpu.max), 10 ms period. */
async function throttleGroup(percent: number): Promise<string> {
  const period = 10_000;
  const quota = Math.round((period * percent) / 100);
  const v1 = '/sys/fs/cgroup/cpu';
  const dir = join((await readdir(v1).then(() => v1, () => '/sys/fs/cgroup')), 'ramdax-detector');
  await mkdir(dir, { recursive: true });
  if (dir.startsWith(v1)) {
    await writeFile(join(dir, 'cpu.cfs_period_us'), String(period));
    await writeFile(join(dir, 'cpu.cfs_quota_us'), String(quota));
  } else {
    await writeFile(join(dir, 'cpu.max'), `${quota} ${period}`);
  }
  return dir;
}

async function runOnce(results: string, repeat: number, group?: string): Promise<void> {
  const t0 = Date.now();
  const child = execa('node', [join(root, 'bin/ramdax-harness.js'), 'run', join(root, 'bench/detector-scenario.yaml'), '--repeat', String(repeat), '--results', results], { cwd: root, reject: false, stdin: 'ignore' });
  // Node needs seconds before it starts QEMU, which inherits the group.
  if (group && child.pid) await writeFile(join(group, 'cgroup.procs'), String(child.pid));
  const r = await child;
  process.stderr.write(`${group ? 'slowed   ' : 'unchanged'} boot: exit ${r.exitCode} in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
}

async function collect(k: number, repeat: number, throttle: number): Promise<{ unchanged: string; slowed: string }> {
  const root_ = await mkdtemp(join(tmpdir(), 'ramdax-detector-'));
  const dirs = { unchanged: join(root_, 'unchanged'), slowed: join(root_, 'slowed') };
  const group = await throttleGroup(throttle);
  process.stderr.write(`collecting into ${root_}: ${k} unchanged and ${k} slowed boots (cgroup ${group}, ${throttle} % of one CPU), alternating\n`);
  for (let i = 0; i < k; i++) {
    await runOnce(dirs.unchanged, repeat);
    await runOnce(dirs.slowed, repeat, group);
  }
  return dirs;
}

const runsIn = async (dir: string | undefined) => (dir ? (await readdir(dir)).sort().map((d) => join(dir, d)) : []);
const sets_ = o.collect ? await collect(Number(o.collect), Number(o.repeat), Number(o.throttle)) : { unchanged: o.unchanged, slowed: o.slowed };
const baseDirs = [...(await runsIn(sets_.unchanged)), ...positionals];
const slowDirs = await runsIn(sets_.slowed);
if (baseDirs.length === 0) {
  process.stderr.write('usage: tsx bench/detector.ts [--collect K --repeat R --throttle PCT] [--unchanged DIR --slowed DIR] [run-dir...]\n');
  process.exit(2);
}

/** metric (case + point + name) → its sample sets, one per run (boot), unchanged and slowed. */
const pools = new Map<string, { m: Metric; base: number[][]; slow: number[][] }>();
async function gather(dirs: string[], which: 'base' | 'slow') {
  for (const dir of dirs) {
    const run = await readRun(dir);
    for (const c of run.cases) {
      for (const p of c.points) {
        for (const m of p.metrics ?? []) {
          if (m.samples.length < 6) continue;
          const id = `${c.id} > ${p.name} > ${m.name}`;
          const e = pools.get(id) ?? { m, base: [], slow: [] };
          e[which].push(m.samples);
          pools.set(id, e);
        }
      }
    }
  }
}
await gather(baseDirs, 'base');
await gather(slowDirs, 'slow');

type Injection = { label: string; apply: (x: number, m: Metric) => number };
const NONE: Injection = { label: 'unchanged', apply: (x) => x };
const SLOW: Injection = { label: '20 % slower (bw÷1.2, lat×1.2)', apply: (x, m) => (m.better === 'higher' ? x / 1.2 : x * 1.2) };

/** Verdict rates over resampled pairs: baseline from one set of `base`, current from another set (of `cur`, or of `base` when cur is base). */
function rates(base: number[][], cur: number[][], m: Metric, n: number, inj: Injection, trials: number): Record<Verdict, number> {
  const count: Record<Verdict, number> = { regression: 0, improvement: 0, unchanged: 0, inconclusive: 0 };
  const same = base === cur;
  for (let t = 0; t < trials; t++) {
    let b: number[];
    let c: number[];
    if (same && base.length < 2) {
      const both = draw(base[0]!, 2 * n);
      b = both.slice(0, n);
      c = both.slice(n);
    } else if (same) {
      const [i, j] = draw([...base.keys()], 2) as [number, number];
      b = draw(base[i]!, n);
      c = draw(base[j]!, n);
    } else {
      b = draw(base[Math.floor(rand() * base.length)]!, n);
      c = draw(cur[Math.floor(rand() * cur.length)]!, n);
    }
    count[judge(b, c.map((x) => inj.apply(x, m)), m.better, DEFAULT_JUDGE).verdict]++;
  }
  return Object.fromEntries(Object.entries(count).map(([k, v]) => [k, v / trials])) as Record<Verdict, number>;
}

const trials = Number(o.trials);
const ns = o.n!.split(',').map(Number);
const pc = (x: number) => `${(x * 100).toFixed(1).padStart(5)} %`;
process.stdout.write(`detector: k=${DEFAULT_JUDGE.k} floor=${DEFAULT_JUDGE.floor} alpha=${DEFAULT_JUDGE.alpha} maxThreshold=${DEFAULT_JUDGE.maxThreshold}; ${baseDirs.length} unchanged and ${slowDirs.length} slowed real run(s); ${trials} resampled pairs per figure (seed ${o.seed})\n`);
type Tot = { falseVerdict: number; fpRegression: number; inconclusive: number; real: number; realCount: number; effect: number[]; arith: number; count: number };
const totals = new Map<number, Tot>();
for (const [id, { m, base, slow }] of pools) {
  const all = base.flat();
  const effect = slow.length ? median(slow.flat()) / median(all) - 1 : NaN;
  process.stdout.write(`\n${id} [${m.unit}, ${m.better} is better]: unchanged ${base.length} boot(s) × ${base.map((s) => s.length).join('/')} samples, median ${median(all).toPrecision(4)}, rel. MAD ${pc(relativeMad(all))}, per-boot medians ${base.map((s) => median(s).toPrecision(4)).join(', ')}${slow.length ? `; slowed ${slow.length} boot(s), per-boot medians ${slow.map((s) => median(s).toPrecision(4)).join(', ')}, measured change ${(effect * 100).toFixed(1)} %` : ''}\n`);
  for (const n of ns) {
    const a = rates(base, base, m, n, NONE, trials);
    const c = rates(base, base, m, n, SLOW, trials);
    const r = slow.length ? rates(base, slow, m, n, NONE, trials) : undefined;
    process.stdout.write(`  n=${n}: unchanged → false verdict ${pc(a.regression + a.improvement)} (regression ${pc(a.regression)}, inconclusive ${pc(a.inconclusive)})${r ? ` | slowed boots → regression ${pc(r.regression)} (inconclusive ${pc(r.inconclusive)})` : ''} | ${SLOW.label} → regression ${pc(c.regression)}\n`);
    const tot = totals.get(n) ?? { falseVerdict: 0, fpRegression: 0, inconclusive: 0, real: 0, realCount: 0, effect: [], arith: 0, count: 0 };
    tot.falseVerdict += a.regression + a.improvement;
    tot.fpRegression += a.regression;
    tot.inconclusive += a.inconclusive;
    tot.arith += c.regression;
    tot.count++;
    if (r) {
      tot.real += r.regression;
      tot.realCount++;
      tot.effect.push(m.better === 'higher' ? -effect : effect);
    }
    totals.set(n, tot);
  }
}
process.stdout.write('\nmean over all metrics:\n');
for (const [n, t] of totals) {
  const real = t.realCount ? `, real slowdown (measured ${(median(t.effect) * 100).toFixed(1)} % worse, median over metrics) detected ${pc(t.real / t.realCount)}` : '';
  process.stdout.write(`  n=${n}: false verdicts when unchanged ${pc(t.falseVerdict / t.count)} (regressions ${pc(t.fpRegression / t.count)}), inconclusive when unchanged ${pc(t.inconclusive / t.count)}${real}, arithmetic 20 % detected ${pc(t.arith / t.count)}\n`);
}
