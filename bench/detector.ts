/**
 * Detector benchmark (prints figures; not a test). How often does `compare`
 * call a regression when nothing changed (false positives), and how often
 * does it catch an injected 20 % slowdown (detection)?
 *
 * Method (honest about what is real): the samples are REAL — fio figures from
 * K separate boots of bench/detector-scenario.yaml on real QEMU. Booting
 * thousands of baseline/current pairs under TCG is not affordable, so pairs
 * are formed by resampling: a baseline of n samples from one boot and a
 * current set of n samples from ANOTHER boot (so boot-to-boot variation is in
 * the noise), drawn without replacement. The slowdown is injected into the
 * real current samples arithmetically: throughput ÷ 1.2 and latency × 1.2
 * (every operation 20 % slower), and, stricter, throughput × 0.8.
 *
 *   npx tsx bench/detector.ts --collect 3 --repeat 12      # boot K=3 times, then evaluate
 *   npx tsx bench/detector.ts results-detector/<run>...    # evaluate existing runs
 */
import { execa } from 'execa';
import { mkdtemp, readdir } from 'node:fs/promises';
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
    repeat: { type: 'string', default: '12' },
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

async function collect(k: number, repeat: number): Promise<string[]> {
  const results = await mkdtemp(join(tmpdir(), 'ramdax-detector-'));
  for (let i = 0; i < k; i++) {
    const t0 = Date.now();
    const r = await execa('node', [join(root, 'bin/ramdax-harness.js'), 'run', join(root, 'bench/detector-scenario.yaml'), '--repeat', String(repeat), '--results', results], { cwd: root, reject: false, stdin: 'ignore' });
    process.stderr.write(`boot ${i + 1}/${k}: exit ${r.exitCode} in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  }
  return (await readdir(results)).sort().map((d) => join(results, d));
}

const dirs = o.collect ? await collect(Number(o.collect), Number(o.repeat)) : positionals;
if (dirs.length === 0) {
  process.stderr.write('usage: tsx bench/detector.ts [--collect K --repeat R] [run-dir...]\n');
  process.exit(2);
}

/** metric (case + name) → its sample sets, one per run (boot). */
const pools = new Map<string, { m: Metric; sets: number[][] }>();
for (const dir of dirs) {
  const run = await readRun(dir);
  for (const c of run.cases) {
    for (const p of c.points) {
      for (const m of p.metrics ?? []) {
        if (m.samples.length < 6) continue;
        const id = `${c.id} > ${p.name} > ${m.name}`;
        const e = pools.get(id) ?? { m, sets: [] };
        e.sets.push(m.samples);
        pools.set(id, e);
      }
    }
  }
}

type Injection = { label: string; apply: (x: number, m: Metric) => number };
const NONE: Injection = { label: 'unchanged', apply: (x) => x };
const SLOW: Injection = { label: '20 % slower (bw÷1.2, lat×1.2)', apply: (x, m) => (m.better === 'higher' ? x / 1.2 : x * 1.2) };
const SLOW08: Injection = { label: 'bw×0.8, lat×1.25', apply: (x, m) => (m.better === 'higher' ? x * 0.8 : x * 1.25) };

function rates(sets: number[][], m: Metric, n: number, inj: Injection, trials: number): Record<Verdict, number> {
  const count: Record<Verdict, number> = { regression: 0, improvement: 0, unchanged: 0, inconclusive: 0 };
  for (let t = 0; t < trials; t++) {
    let base: number[];
    let cur: number[];
    if (sets.length >= 2) {
      const [i, j] = draw([...sets.keys()], 2) as [number, number];
      base = draw(sets[i]!, n);
      cur = draw(sets[j]!, n);
    } else {
      const both = draw(sets[0]!, 2 * n);
      base = both.slice(0, n);
      cur = both.slice(n);
    }
    count[judge(base, cur.map((x) => inj.apply(x, m)), m.better, DEFAULT_JUDGE).verdict]++;
  }
  return Object.fromEntries(Object.entries(count).map(([k, v]) => [k, v / trials])) as Record<Verdict, number>;
}

const trials = Number(o.trials);
const ns = o.n!.split(',').map(Number);
const pc = (x: number) => `${(x * 100).toFixed(1).padStart(5)} %`;
process.stdout.write(`detector: k=${DEFAULT_JUDGE.k} floor=${DEFAULT_JUDGE.floor} alpha=${DEFAULT_JUDGE.alpha} maxThreshold=${DEFAULT_JUDGE.maxThreshold}; ${dirs.length} real run(s); ${trials} resampled pairs per figure (seed ${o.seed})\n`);
const totals = new Map<string, { fp: number; det: number; det08: number; inc: number; count: number }>();
for (const [id, { m, sets }] of pools) {
  const all = sets.flat();
  process.stdout.write(`\n${id} [${m.unit}, ${m.better} is better]: ${sets.length} boot(s) × ${sets.map((s) => s.length).join('/')} samples; median ${median(all).toPrecision(4)}, rel. MAD ${pc(relativeMad(all))}; per-boot medians ${sets.map((s) => median(s).toPrecision(4)).join(', ')}\n`);
  for (const n of ns) {
    const a = rates(sets, m, n, NONE, trials);
    const b = rates(sets, m, n, SLOW, trials);
    const c = rates(sets, m, n, SLOW08, trials);
    process.stdout.write(`  n=${n}: false positive ${pc(a.regression)} (inconclusive ${pc(a.inconclusive)}) | ${SLOW.label}: detected ${pc(b.regression)} (inconclusive ${pc(b.inconclusive)}) | ${SLOW08.label}: detected ${pc(c.regression)}\n`);
    const tot = totals.get(`n=${n}`) ?? { fp: 0, det: 0, det08: 0, inc: 0, count: 0 };
    tot.fp += a.regression;
    tot.det += b.regression;
    tot.det08 += c.regression;
    tot.inc += a.inconclusive;
    tot.count++;
    totals.set(`n=${n}`, tot);
  }
}
process.stdout.write('\nmean over all metrics:\n');
for (const [n, t] of totals) {
  process.stdout.write(`  ${n}: false-positive rate ${pc(t.fp / t.count)}, detection of a 20 % slowdown ${pc(t.det / t.count)} (bw×0.8: ${pc(t.det08 / t.count)}), inconclusive when unchanged ${pc(t.inc / t.count)}\n`);
}
