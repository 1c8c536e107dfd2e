/**
 * Detector benchmark (prints figures; not a test). How often does `compare`
 * give a verdict when nothing changed (false verdicts), and how often does it
 * catch a real slowdown (detection)?
 *
 * Method: all samples are REAL fio figures from separate boots of
 * bench/detector-scenario.yaml on real QEMU. `--collect K` boots it K times
 * unchanged and K times SLOWED, alternating: the slowed runs put the harness
 * and its QEMU in a cpu cgroup capped at `--throttle` % of one CPU (a
 * slowdown injected from outside the guest). Booting thousands of
 * baseline/current pairs under TCG is not affordable, so comparisons are
 * formed by resampling the boots: a baseline of B boots (`--boots`, n
 * samples drawn from each, as `compare` with B baseline runs would see it)
 * against ONE OTHER boot as the current run (n samples), so boot-to-boot
 * variation is in the noise:
 *   - false verdict: current from another unchanged boot, verdict regression
 *     or improvement;
 *   - detection: current from a slowed boot, verdict regression (counted over
 *     the metrics the slowdown made at least 10 % worse);
 *   - an exact 20 % worsening (bandwidth × 0.8, latency × 1.2) applied to the
 *     held-out unchanged boot.
 *
 *   npx tsx bench/detector.ts --collect 4 --repeat 8             # boot 2×4 times, then evaluate
 *   npx tsx bench/detector.ts --unchanged DIR [--slowed DIR]      # evaluate run folders in DIRs
 *   options: --scenario FILE (default bench/detector-scenario.yaml) --n 5,8 (samples per boot) --boots 1,4 (baseline boots) --z 3 --boot-noise 0.03
 */
import { execa } from 'execa';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readRun } from '../harness/cli/compare-command.js';
import { betweenBootNoise, DEFAULT_JUDGE, judge, type JudgeOptions, type Verdict, withinBootNoise } from '../harness/perf/judge.js';
import { median } from '../harness/perf/stats.js';
import type { Metric } from '../harness/results/model.js';
import { BIN, ROOT } from './harness-common.js';

const { values: o, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    collect: { type: 'string' },
    scenario: { type: 'string', default: join(ROOT, 'bench/detector-scenario.yaml') },
    repeat: { type: 'string', default: '10' },
    throttle: { type: 'string', default: '80' },
    unchanged: { type: 'string' },
    slowed: { type: 'string' },
    trials: { type: 'string', default: '2000' },
    n: { type: 'string', default: '5,8' },
    boots: { type: 'string', default: '1,4' },
    z: { type: 'string' },
    'boot-noise': { type: 'string' },
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
  const child = execa(process.execPath, [BIN, 'run', resolve(o.scenario!), '--repeat', String(repeat), '--results', results], { cwd: ROOT, reject: false, stdin: 'ignore' });
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
/** 20 % worse in the metric's own direction: bandwidth and IOPS × 0.8, latency × 1.2. */
const SLOW: Injection = { label: '20 % worse (bw×0.8, lat×1.2)', apply: (x, m) => (m.better === 'higher' ? x * 0.8 : x * 1.2) };

const judgeOpts: JudgeOptions = { ...DEFAULT_JUDGE, ...(o.z ? { z: Number(o.z) } : {}), ...(o['boot-noise'] ? { bootNoise: Number(o['boot-noise']) } : {}) };

/**
 * Verdict rates over resampled comparisons: a baseline of `boots` boots drawn
 * from `base`, n samples each, against one OTHER boot as current (from `base`
 * when `cur` is undefined, else from `cur`), n samples.
 */
function rates(base: number[][], cur: number[][] | undefined, m: Metric, n: number, boots: number, inj: Injection, trials: number): Record<Verdict, number> & { threshold: number } {
  const count: Record<Verdict, number> = { regression: 0, improvement: 0, unchanged: 0, inconclusive: 0 };
  const thresholds: number[] = [];
  for (let t = 0; t < trials; t++) {
    const picked = draw([...base.keys()], cur ? boots : boots + 1);
    const b = picked.slice(0, boots).map((i) => draw(base[i]!, n));
    const c = cur ? draw(cur[Math.floor(rand() * cur.length)]!, n) : draw(base[picked[boots]!]!, n);
    const j = judge(b, [c.map((x) => inj.apply(x, m))], m.better, judgeOpts);
    count[j.verdict]++;
    thresholds.push(j.threshold);
  }
  return { ...(Object.fromEntries(Object.entries(count).map(([k, v]) => [k, v / trials])) as Record<Verdict, number>), threshold: median(thresholds) };
}

const trials = Number(o.trials);
const ns = o.n!.split(',').map(Number);
const maxBoots = Math.min(...[...pools.values()].map((e) => e.base.length)) - 1;
const bootCounts = [...new Set(o.boots!.split(',').map(Number).map((b) => Math.min(b, maxBoots)))].filter((b) => b >= 1);
if (bootCounts.length === 0) {
  process.stderr.write('need at least 2 unchanged runs (one baseline boot and one other as current)\n');
  process.exit(2);
}
const pc = (x: number) => `${(x * 100).toFixed(1).padStart(5)} %`;
process.stdout.write(`detector: z=${judgeOpts.z} floor=${judgeOpts.floor} alpha=${judgeOpts.alpha} maxThreshold=${judgeOpts.maxThreshold} bootNoise=${judgeOpts.bootNoise}; ${baseDirs.length} unchanged and ${slowDirs.length} slowed real run(s); ${trials} resampled comparisons per figure (seed ${o.seed})\n`);
/** A metric the real slowdown moved by at least this much counts towards "real slowdown detected". */
const AFFECTED = 0.1;
type Tot = { falseVerdict: number[]; inconclusive: number[]; real: number[]; arith: number[]; threshold: number[] };
const totals = new Map<string, Tot>();
for (const [id, { m, base, slow }] of pools) {
  const all = base.flat();
  const effect = slow.length ? median(slow.flat()) / median(all) - 1 : NaN;
  const worse = m.better === 'higher' ? -effect : effect;
  process.stdout.write(`\n${id} [${m.unit}, ${m.better} is better]: unchanged ${base.length} boot(s) × ${base.map((x) => x.length).join('/')} samples, median ${median(all).toPrecision(4)}, within-boot noise ${pc(withinBootNoise(base))}, per-boot medians ${base.map((x) => median(x).toPrecision(4)).join(', ')} (boot-to-boot ${pc(betweenBootNoise(base) ?? NaN)})${slow.length ? `; slowed ${slow.length} boot(s), per-boot medians ${slow.map((x) => median(x).toPrecision(4)).join(', ')}, measured change ${(effect * 100).toFixed(1)} %` : ''}\n`);
  for (const boots of bootCounts) {
    for (const n of ns) {
      const a = rates(base, undefined, m, n, boots, NONE, trials);
      const c = rates(base, undefined, m, n, boots, SLOW, trials);
      const r = slow.length ? rates(base, slow, m, n, boots, NONE, trials) : undefined;
      process.stdout.write(`  baseline ${boots} boot(s), n=${n}: unchanged → false verdict ${pc(a.regression + a.improvement)} (inconclusive ${pc(a.inconclusive)}, threshold ${pc(a.threshold)})${r ? ` | slowed boots → regression ${pc(r.regression)} (inconclusive ${pc(r.inconclusive)})` : ''} | ${SLOW.label} → regression ${pc(c.regression)}\n`);
      const key = `baseline ${boots} boot(s), n=${n}`;
      const tot = totals.get(key) ?? { falseVerdict: [], inconclusive: [], real: [], arith: [], threshold: [] };
      tot.falseVerdict.push(a.regression + a.improvement);
      tot.inconclusive.push(a.inconclusive);
      tot.arith.push(c.regression);
      tot.threshold.push(a.threshold);
      if (r && worse >= AFFECTED) tot.real.push(r.regression);
      totals.set(key, tot);
    }
  }
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
process.stdout.write(`\nmean over all ${pools.size} metrics (real slowdown: over the metrics it made ≥ ${AFFECTED * 100} % worse):\n`);
for (const [key, t] of totals) {
  const real = t.real.length ? `, real slowdown detected ${pc(mean(t.real))} (min ${pc(Math.min(...t.real))}, ${t.real.length} metrics)` : '';
  process.stdout.write(`  ${key}: false verdicts ${pc(mean(t.falseVerdict))} (max ${pc(Math.max(...t.falseVerdict))}), inconclusive ${pc(mean(t.inconclusive))}, median threshold ${pc(median(t.threshold))}; arithmetic 20 % detected ${pc(mean(t.arith))} (min ${pc(Math.min(...t.arith))})${real}\n`);
}
