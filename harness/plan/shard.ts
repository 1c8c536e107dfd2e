import { inputError } from '../common/errors.js';
import type { Scenario } from '../scenario/load.js';
import { planBoots } from './boot-groups.js';

/** Shard `index` of `total` (1-based, as written on the command line: `--shard 2/4`). */
export interface ShardSpec {
  index: number;
  total: number;
}

export const MAX_SHARDS = 1000;

/** `I/N` → spec; anything else is bad input (exit 2). */
export function parseShard(text: string, what = '--shard'): ShardSpec {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(m?.[1]);
  const total = Number(m?.[2]);
  if (!m || total < 1 || total > MAX_SHARDS || index < 1 || index > total) {
    throw inputError(`${what} ${text}: expected I/N with 1 ≤ I ≤ N ≤ ${MAX_SHARDS} (e.g. 2/4), or auto`);
  }
  return { index, total };
}

/**
 * `--shard auto`: the shard from the CI engine's environment, first match wins:
 * - Kubernetes Indexed Job: JOB_COMPLETION_INDEX (0-based) with RAMDAX_SHARD_TOTAL
 *   (the Job's `completions`; Kubernetes does not export it);
 * - GitLab `parallel: N`: CI_NODE_INDEX (1-based) and CI_NODE_TOTAL;
 * - a GitHub Actions matrix (or any engine): RAMDAX_SHARD_INDEX (0-based, e.g.
 *   `${{ strategy.job-index }}`) and RAMDAX_SHARD_TOTAL (`${{ strategy.job-total }}`).
 */
export function shardFromEnv(env: Record<string, string | undefined>): ShardSpec & { source: string } {
  const num = (name: string): number => {
    const v = env[name]!.trim();
    if (!/^\d+$/.test(v)) throw inputError(`--shard auto: ${name}=${JSON.stringify(env[name])} is not a whole number`);
    return Number(v);
  };
  const total = (name: string, source: string): number => {
    if (env[name] === undefined || env[name] === '') throw inputError(`--shard auto: ${source} found but ${name} is not set (the number of shards)`);
    return num(name);
  };
  const check = (index1: number, n: number, source: string) => {
    if (n < 1 || n > MAX_SHARDS || index1 < 1 || index1 > n) throw inputError(`--shard auto: ${source} gives shard ${index1} of ${n}, not within 1..${n} (1 ≤ N ≤ ${MAX_SHARDS})`);
    return { index: index1, total: n, source };
  };
  const set = (name: string) => env[name] !== undefined && env[name] !== '';
  if (set('JOB_COMPLETION_INDEX')) return check(num('JOB_COMPLETION_INDEX') + 1, total('RAMDAX_SHARD_TOTAL', 'JOB_COMPLETION_INDEX (Kubernetes Indexed Job)'), 'JOB_COMPLETION_INDEX/RAMDAX_SHARD_TOTAL (Kubernetes Indexed Job)');
  if (set('CI_NODE_INDEX')) return check(num('CI_NODE_INDEX'), total('CI_NODE_TOTAL', 'CI_NODE_INDEX (GitLab parallel)'), 'CI_NODE_INDEX/CI_NODE_TOTAL (GitLab parallel)');
  if (set('RAMDAX_SHARD_INDEX')) return check(num('RAMDAX_SHARD_INDEX') + 1, total('RAMDAX_SHARD_TOTAL', 'RAMDAX_SHARD_INDEX'), 'RAMDAX_SHARD_INDEX/RAMDAX_SHARD_TOTAL (GitHub matrix)');
  throw inputError('--shard auto: none of JOB_COMPLETION_INDEX (Kubernetes Indexed Job), CI_NODE_INDEX (GitLab parallel) or RAMDAX_SHARD_INDEX (GitHub matrix) is set', 'give the shard explicitly, e.g. --shard 1/2');
}

/**
 * Split weighted items into `total` bins (pure, deterministic): the heaviest
 * item first into the lightest bin (longest-processing-time), ties broken by
 * input order and bin number. Each bin keeps its items in input order.
 * Returns the input indexes of every bin.
 */
export function partition(weights: readonly number[], total: number): number[][] {
  const order = weights.map((w, i) => ({ w, i })).sort((a, b) => b.w - a.w || a.i - b.i);
  const load = new Array<number>(total).fill(0);
  const bins: number[][] = Array.from({ length: total }, () => []);
  for (const { w, i } of order) {
    let best = 0;
    for (let b = 1; b < total; b++) if (load[b]! < load[best]!) best = b;
    bins[best]!.push(i);
    load[best]! += w;
  }
  return bins.map((b) => b.sort((x, y) => x - y));
}

/**
 * The weight of a boot group: the recorded durations of its cases (ms, from an
 * earlier results.json), a case without one counting as the median of the known
 * ones; without any recorded duration, the number of cases.
 */
export function groupWeights(groups: readonly { id: string }[][], durations?: ReadonlyMap<string, number>): number[] {
  const known = groups.flat().map((c) => durations?.get(c.id)).filter((d): d is number => d !== undefined && d > 0).sort((a, b) => a - b);
  if (known.length === 0) return groups.map((g) => g.length);
  const median = known[Math.floor(known.length / 2)]!;
  return groups.map((g) => g.reduce((s, c) => s + (durations!.get(c.id) ?? median), 0));
}

/**
 * The cases of one shard: whole boot groups (cases sharing a boot stay
 * together), in run order. The groups are partitioned in the order of their
 * smallest case id (plain code-unit order), so every machine computes the same
 * shards even if it listed the scenario files in another order (locale).
 */
export function selectShard<C extends { id: string; scenario: Scenario }>(cases: C[], spec: ShardSpec, durations?: ReadonlyMap<string, number>): C[] {
  const first = (g: C[]) => g.map((c) => c.id).reduce((m, id) => (id < m ? id : m));
  const groups = planBoots(cases)
    .map((b) => ({ key: first(b.cases), cases: b.cases }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((g) => g.cases);
  const bins = partition(groupWeights(groups, durations), spec.total);
  const mine = new Set(bins[spec.index - 1]!.flatMap((gi) => groups[gi]!));
  return cases.filter((c) => mine.has(c));
}
