/**
 * Detector benchmark (prints figures; not a test). How often does `compare`
 * give a verdict when nothing changed (false verdicts), and how often does it
 * catch a real slowdown (detection)?
 *
 * Method: all samples are REAL fio figures from separate boots of
 * bench/detector-scenario.yaml on real QEMU. `--collect K` boots it K times
 * each, interleaved: unchanged; LOADED (the harness and its QEMU in a host cpu
 * cgroup capped at `--throttle` % of one CPU — the host is slower, the guest
 * is not changed, so a verdict is a false one); SLOWED (a first step puts the
 * guest's sshd, and so fio, in a guest cgroup capped at `--guest-cpu` % of a
 * CPU — a slowdown of the guest itself). Booting thousands of
 * baseline/current pairs under TCG is not affordable, so comparisons are
 * formed by resampling the boots: a baseline of B boots (`--boots`, n
 * samples drawn from each, as `compare` with B baseline runs would see it)
 * against ONE OTHER boot as the current run (n samples), so boot-to-boot
 * variation is in the noise:
 *   - false verdict: current from another unchanged boot, or from a loaded
 *     boot, verdict regression or improvement;
 *   - detection: current from a slowed boot, verdict regression (counted over
 *     the metrics the slowdown made at least 10 % worse);
 *   - an exact 20 % worsening (bandwidth × 0.8, latency × 1.2) applied to the
 *     held-out unchanged boot.
 *
 *   npx tsx bench/detector.ts --collect 3 --repeat 8                       # boot 3×3 times, then evaluate
 *   npx tsx bench/detector.ts --unchanged DIR [--loaded DIR] [--slowed DIR]  # evaluate run folders in DIRs
 *   options: --scenario FILE (default bench/detector-scenario.yaml) --throttle 50 --guest-cpu 85
 *            --n 5,8 (samples per boot) --boots 1,4 (baseline boots) --z 3 --boot-noise 0.03
 */
import { execa } from 'execa';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { readRun } from '../harness/results/read.js';
import { betweenBootNoise, DEFAULT_JUDGE, judge, type JudgeOptions, type Verdict, withinBootNoise } from '../harness/perf/judge.js';
import { median } from '../harness/perf/stats.js';
import type { Metric } from '../harness/model/results.js';
import { BIN, ROOT } from './harness-common.js';

const { values: o, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    collect: { type: 'string' },
    scenario: { type: 'string', default: join(ROOT, 'bench/detector-scenario.yaml') },
    repeat: { type: 'string', default: '10' },
    throttle: { type: 'string', default: '50' },
    'guest-cpu': { type: 'string', default: '85' },
    unchanged: { type: 'string' },
    loaded: { type: 'string' },
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

type Kind = 'unchanged' | 'loaded' | 'slowed';

async function runOnce(kind: Kind, scenario: string, results: string, repeat: number, group?: string): Promise<void> {
  const t0 = Date.now();
  const child = execa(process.execPath, [BIN, 'run', scenario, '--repeat', String(repeat), '--results', results], { cwd: ROOT, reject: false, stdin: 'ignore' });
  // Node needs seconds before it starts QEMU, which inherits the group.
  if (group && child.pid) await writeFile(join(group, 'cgroup.procs'), String(child.pid));
  const r = await child;
  process.stderr.write(`${kind.padEnd(9)} boot: exit ${r.exitCode} in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
}

/**
 * The guest-side slowdown: the scenario with one first step that puts the
 * guest's sshd — so fio and every later command — in a cgroup v2 capped at
 * `percent` % of a CPU. The steps the metrics come from are unchanged.
 */
async function slowedScenario(dir: string, percent: number): Promise<string> {
  const doc = parseYaml(await readFile(resolve(o.scenario!), 'utf8')) as { steps: unknown[]; [k: string]: unknown };
  const cg = '/sys/fs/cgroup';
  const quota = Math.round(percent * 1000);
  const inject = [
    `mountpoint -q ${cg} || mount -t cgroup2 none ${cg}`,
    `echo +cpu > ${cg}/cgroup.subtree_control`,
    `mkdir -p ${cg}/detector-slowed`,
    `echo "${quota} 100000" > ${cg}/detector-slowed/cpu.max`,
    `for p in $(pgrep sshd); do echo $p > ${cg}/detector-slowed/cgroup.procs; done`,
    // This shell was forked before sshd moved; the steps after it fork from the moved sshd.
    `test -n "$(cat ${cg}/detector-slowed/cgroup.procs)"`,
  ].join(' && ');
  doc.steps = [{ run: inject }, ...doc.steps];
  const file = join(dir, 'slowed-scenario.yaml');
  await writeFile(file, stringifyYaml(doc));
  return file;
}

/**
 * K boots of each kind, interleaved: unchanged; loaded (the same scenario,
 * the harness and its QEMU in a host cpu cgroup capped at `throttle` % of one
 * CPU: a slower, busier host, not a different guest); slowed (the guest's
 * commands capped at `guestCpu` % by a cgroup inside the guest).
 */
async function collect(k: number, repeat: number, throttle: number, guestCpu: number): Promise<Record<Kind, string>> {
  const root_ = await mkdtemp(join(tmpdir(), 'ramdax-detector-'));
  const dirs: Record<Kind, string> = { unchanged: join(root_, 'unchanged'), loaded: join(root_, 'loaded'), slowed: join(root_, 'slowed') };
  const group = await throttleGroup(throttle);
  const slowed = await slowedScenario(root_, guestCpu);
  process.stderr.write(`collecting into ${root_}: ${k} boots each of unchanged, loaded (host cgroup ${group}, ${throttle} % of one CPU) and slowed (guest cgroup, ${guestCpu} % of a CPU)\n`);
  for (let i = 0; i < k; i++) {
    await runOnce('unchanged', resolve(o.scenario!), dirs.unchanged, repeat);
    await runOnce('loaded', resolve(o.scenario!), dirs.loaded, repeat, group);
    await runOnce('slowed', slowed, dirs.slowed, repeat);
  }
  return dirs;
}

const runsIn = async (dir: string | undefined) => (dir ? (await readdir(dir)).filter((d) => !d.endsWith('.yaml')).sort().map((d) => join(dir, d)) : []);
const sets_ = o.collect
  ? await collect(Number(o.collect), Number(o.repeat), Number(o.throttle), Number(o['guest-cpu']))
  : { unchanged: o.unchanged, loaded: o.loaded, slowed: o.slowed };
const baseDirs = [...(await runsIn(sets_.unchanged)), ...positionals];
const loadedDirs = await runsIn(sets_.loaded);
const slowDirs = await runsIn(sets_.slowed);
if (baseDirs.length === 0) {
  process.stderr.write('usage: tsx bench/detector.ts [--collect K --repeat R --throttle PCT --guest-cpu PCT] [--unchanged DIR --loaded DIR --slowed DIR] [run-dir...]\n');
  process.exit(2);
}

/** metric (case + point + name) → its sample sets, one per run (boot), unchanged and slowed. */
const pools = new Map<string, { m: Metric; base: number[][]; loaded: number[][]; slow: number[][] }>();
async function gather(dirs: string[], which: 'base' | 'loaded' | 'slow') {
  for (const dir of dirs) {
    const run = await readRun(dir);
    for (const c of run.cases) {
      for (const p of c.points) {
        for (const m of p.metrics ?? []) {
          if (m.samples.length < 6) continue;
          const id = `${c.id} > ${p.name} > ${m.name}`;
          const e = pools.get(id) ?? { m, base: [], loaded: [], slow: [] };
          e[which].push(m.samples);
          pools.set(id, e);
        }
      }
    }
  }
}
await gather(baseDirs, 'base');
await gather(loadedDirs, 'loaded');
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
process.stdout.write(`detector: z=${judgeOpts.z} floor=${judgeOpts.floor} alpha=${judgeOpts.alpha} maxThreshold=${judgeOpts.maxThreshold} bootNoise=${judgeOpts.bootNoise}; ${baseDirs.length} unchanged, ${loadedDirs.length} loaded-host and ${slowDirs.length} slowed real run(s); ${trials} resampled comparisons per figure (seed ${o.seed})\n`);
/** A metric the real slowdown moved by at least this much counts towards "real slowdown detected". */
const AFFECTED = 0.1;
type Tot = { falseVerdict: number[]; loadedFalse: number[]; inconclusive: number[]; real: number[]; arith: number[]; threshold: number[] };
const totals = new Map<string, Tot>();
const medians = (xs: number[][]) => xs.map((x) => median(x).toPrecision(4)).join(', ');
for (const [id, { m, base, loaded, slow }] of pools) {
  const all = base.flat();
  const effect = slow.length ? median(slow.flat()) / median(all) - 1 : NaN;
  const worse = m.better === 'higher' ? -effect : effect;
  process.stdout.write(`\n${id} [${m.unit}, ${m.better} is better]: unchanged ${base.length} boot(s) × ${base.map((x) => x.length).join('/')} samples, median ${median(all).toPrecision(4)}, within-boot noise ${pc(withinBootNoise(base))}, per-boot medians ${medians(base)} (boot-to-boot ${pc(betweenBootNoise(base) ?? NaN)})${loaded.length ? `; loaded host ${loaded.length} boot(s), per-boot medians ${medians(loaded)}` : ''}${slow.length ? `; slowed ${slow.length} boot(s), per-boot medians ${medians(slow)}, measured change ${(effect * 100).toFixed(1)} %` : ''}\n`);
  for (const boots of bootCounts) {
    for (const n of ns) {
      const a = rates(base, undefined, m, n, boots, NONE, trials);
      const c = rates(base, undefined, m, n, boots, SLOW, trials);
      const r = slow.length ? rates(base, slow, m, n, boots, NONE, trials) : undefined;
      const l = loaded.length ? rates(base, loaded, m, n, boots, NONE, trials) : undefined;
      process.stdout.write(`  baseline ${boots} boot(s), n=${n}: unchanged → false verdict ${pc(a.regression + a.improvement)} (inconclusive ${pc(a.inconclusive)}, threshold ${pc(a.threshold)})${l ? ` | loaded host → false verdict ${pc(l.regression + l.improvement)}` : ''}${r ? ` | slowed boots → regression ${pc(r.regression)} (inconclusive ${pc(r.inconclusive)})` : ''} | ${SLOW.label} → regression ${pc(c.regression)}\n`);
      // Totals over all metrics, and per statistic (bw, iops, lat-p50, …: they differ in noise).
      const stat = m.name.split(':').at(-1)!;
      for (const key of [`baseline ${boots} boot(s), n=${n}`, `baseline ${boots} boot(s), n=${n}, ${stat}`]) {
        const tot = totals.get(key) ?? { falseVerdict: [], loadedFalse: [], inconclusive: [], real: [], arith: [], threshold: [] };
        tot.falseVerdict.push(a.regression + a.improvement);
        if (l) tot.loadedFalse.push(l.regression + l.improvement);
        tot.inconclusive.push(a.inconclusive);
        tot.arith.push(c.regression);
        tot.threshold.push(a.threshold);
        if (r && worse >= AFFECTED) tot.real.push(r.regression);
        totals.set(key, tot);
      }
    }
  }
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
process.stdout.write(`\nmean over all ${pools.size} metrics, then per statistic (real slowdown: over the metrics it made ≥ ${AFFECTED * 100} % worse):\n`);
// All metrics first, then per statistic, each by baseline boots and n.
const order = (k: string) => (k.split(', ').length > 2 ? `1 ${k.split(', ')[2]} ${k}` : `0 ${k}`);
for (const [key, t] of [...totals].sort(([a], [b]) => order(a).localeCompare(order(b)))) {
  const real = t.real.length ? `, real slowdown detected ${pc(mean(t.real))} (min ${pc(Math.min(...t.real))}, ${t.real.length} metrics)` : '';
  const loadedFalse = t.loadedFalse.length ? `, loaded host: false verdicts ${pc(mean(t.loadedFalse))} (max ${pc(Math.max(...t.loadedFalse))})` : '';
  process.stdout.write(`  ${key} (${t.falseVerdict.length} metrics): false verdicts ${pc(mean(t.falseVerdict))} (max ${pc(Math.max(...t.falseVerdict))})${loadedFalse}, inconclusive ${pc(mean(t.inconclusive))}, median threshold ${pc(median(t.threshold))}; arithmetic 20 % detected ${pc(mean(t.arith))} (min ${pc(Math.min(...t.arith))})${real}\n`);
}
