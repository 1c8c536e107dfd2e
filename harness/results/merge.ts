import type { CaseResult, RunResult, Status } from '../model/results.js';
import { rollUp } from '../model/status.js';
import { countPoints } from './store.js';
import type { ShardRecord } from './shard-record.js';
import { TapReporter } from '../reporters/tap.js';

export interface ShardInput {
  dir: string;
  run: RunResult;
  shard?: ShardRecord;
}

/** What keeps folders from merging; `force` lets the version and plan checks pass (overlap never). */
export interface MergeProblem {
  kind: 'overlap' | 'version' | 'plan' | 'missing' | 'shard' | 'running';
  message: string;
}

/**
 * Check that shard folders make one run (pure): no case in two folders, the
 * same harness version, cut from the same plan (same case set and shard
 * count), every shard present once. Returns the problems, naming what differs.
 */
export function mergeProblems(inputs: ShardInput[]): MergeProblem[] {
  const problems: MergeProblem[] = [];
  const owner = new Map<string, string>();
  for (const i of inputs) {
    if (i.run.status === 'running') problems.push({ kind: 'running', message: `${i.dir}: the run is not finished (status running)` });
    for (const c of i.run.cases) {
      const other = owner.get(c.id);
      if (other !== undefined) problems.push({ kind: 'overlap', message: `case ${c.id} is in both ${other} and ${i.dir}: shards overlap` });
      else owner.set(c.id, i.dir);
    }
  }
  const versions = new Map<string, string[]>();
  for (const i of inputs) versions.set(i.run.harness.version, [...(versions.get(i.run.harness.version) ?? []), i.dir]);
  if (versions.size > 1) problems.push({ kind: 'version', message: `harness versions differ: ${[...versions].map(([v, d]) => `${v} (${d.join(', ')})`).join(' vs ')}` });
  const shards = inputs.filter((i) => i.shard);
  if (shards.length && shards.length !== inputs.length) problems.push({ kind: 'shard', message: `${inputs.filter((i) => !i.shard).map((i) => i.dir).join(', ')}: not a shard (no shard.json) while ${shards[0]!.dir} is` });
  if (shards.length) {
    const first = shards[0]!;
    for (const s of shards.slice(1)) {
      if (s.shard!.total !== first.shard!.total) problems.push({ kind: 'plan', message: `${first.dir} is a shard of ${first.shard!.total}, ${s.dir} of ${s.shard!.total}` });
      const diff = setDiff(first.shard!.planned, s.shard!.planned);
      if (diff) problems.push({ kind: 'plan', message: `${first.dir} and ${s.dir} were cut from different scenario sets: ${diff}` });
    }
    const seen = new Map<number, string>();
    for (const s of shards) {
      const o = seen.get(s.shard!.index);
      if (o !== undefined) problems.push({ kind: 'overlap', message: `${o} and ${s.dir} are both shard ${s.shard!.index}/${s.shard!.total}` });
      seen.set(s.shard!.index, s.dir);
    }
    const missing = Array.from({ length: first.shard!.total }, (_, i) => i + 1).filter((i) => !seen.has(i));
    const unran = unranCases(shards);
    if (missing.length) problems.push({ kind: 'missing', message: `shard(s) ${missing.map((i) => `${i}/${first.shard!.total}`).join(', ')} missing: the merged run would lack ${unran.slice(0, 5).join(', ')}${unran.length > 5 ? ', …' : ''}` });
    // All shards there, yet a planned case ran nowhere: the shards were cut differently.
    else if (unran.length) problems.push({ kind: 'plan', message: `no shard ran ${unran.slice(0, 5).join(', ')}${unran.length > 5 ? ', …' : ''}: the shards were not cut from one plan` });
  }
  return problems;
}

/** Cases of the plan no given shard ran. */
function unranCases(shards: ShardInput[]): string[] {
  const ran = new Set(shards.flatMap((s) => s.shard!.cases));
  return shards[0]!.shard!.planned.filter((id) => !ran.has(id));
}

function setDiff(a: string[], b: string[]): string | undefined {
  const sa = new Set(a);
  const sb = new Set(b);
  const onlyA = a.filter((x) => !sb.has(x));
  const onlyB = b.filter((x) => !sa.has(x));
  if (!onlyA.length && !onlyB.length) return undefined;
  const show = (xs: string[]) => `${xs.slice(0, 5).join(', ')}${xs.length > 5 ? ` and ${xs.length - 5} more` : ''}`;
  return [onlyA.length ? `only in the first: ${show(onlyA)}` : '', onlyB.length ? `only in the second: ${show(onlyB)}` : ''].filter(Boolean).join('; ');
}

/**
 * One run from shard runs (pure): cases in the unsharded run order (the plan
 * of shard.json, else shard order), counts recomputed, the worst status, the
 * earliest start and latest end.
 */
export interface MergedRun extends RunResult {
  /** Where each part ran: shard, run id, host and times (shards may run on different machines). */
  shards: { shard?: string; runId: string; dir: string; host: RunResult['host']; startedAt: string; endedAt?: string; cases: number }[];
}

export function mergeRuns(inputs: ShardInput[], dir: string): MergedRun {
  const order = inputs.find((i) => i.shard)?.shard?.planned ?? [];
  const rank = new Map(order.map((id, i) => [id, i]));
  const cases: CaseResult[] = inputs.flatMap((i) => i.run.cases).map((c, i) => ({ c, i })).sort((a, b) => (rank.get(a.c.id) ?? order.length + a.i) - (rank.get(b.c.id) ?? order.length + b.i)).map((x) => x.c);
  const first = inputs[0]!.run;
  const starts = inputs.map((i) => i.run.startedAt).sort();
  const ends = inputs.map((i) => i.run.endedAt).filter((e): e is string => !!e).sort();
  const interrupted = inputs.some((i) => i.run.status === 'interrupted');
  return {
    runId: `${first.runId}-merged`,
    dir,
    startedAt: starts[0]!,
    endedAt: ends.at(-1),
    status: interrupted ? 'interrupted' : worstOf(cases.map((c) => c.status)),
    harness: first.harness,
    qemu: first.qemu,
    host: first.host,
    cases,
    counts: countPoints(cases),
    shards: inputs.map((i) => ({ shard: i.shard ? `${i.shard.index}/${i.shard.total}` : undefined, runId: i.run.runId, dir: i.dir, host: i.run.host, startedAt: i.run.startedAt, endedAt: i.run.endedAt, cases: i.run.cases.length })),
  };
}

/** The one roll-up rule (model/status.ts). */
function worstOf(statuses: Status[]): Status {
  return rollUp(statuses);
}

/** The TAP document of a finished run, as the run reporter prints it (pure). */
export function tapOf(run: RunResult): string {
  let out = '';
  const tap = new TapReporter((t) => (out += t));
  const planned = run.cases.map((c) => ({ id: c.id, scenario: c.scenario, steps: c.points.length }));
  tap.onRunBegin(run, planned);
  run.cases.forEach((c, i) => {
    tap.onCaseBegin(planned[i]!);
    for (const p of c.points) tap.onPoint(planned[i]!, p);
    tap.onCaseEnd(planned[i]!, c);
  });
  return out;
}
