import type { Command } from 'commander';
import { readRun } from '../results/read.js';
import { inputError } from '../common/errors.js';
import { harnessVersion } from '../common/version.js';
import { parseShard, selectShard, shardFromEnv, type ShardSpec } from '../plan/shard.js';
import type { RunResult } from '../model/results.js';
import { writeShardRecord, type ShardRecord } from '../results/shard-record.js';
import { checkOrigin, parseReporters, REPORTERS, writeOutputs, type ReporterName } from '../reporters/outputs.js';
import type { Case } from '../matrix/case.js';

const collect = (v: string, prev: string[]) => [...prev, v];

/** The flags of `run` for runs at lab scale: shards, reporters. */
export interface LabFlags {
  shard?: string;
  durations?: string;
  reporter: string[];
  kcidbOrigin: string;
}

export function labOptions(cmd: Command): Command {
  return cmd
    .option('--shard <I/N|auto>', 'run shard I of N (whole boot groups, deterministic); auto: from JOB_COMPLETION_INDEX+RAMDAX_SHARD_TOTAL (Kubernetes Indexed Job), CI_NODE_INDEX/CI_NODE_TOTAL (GitLab parallel) or RAMDAX_SHARD_INDEX/RAMDAX_SHARD_TOTAL (GitHub matrix)')
    .option('--durations <results>', 'balance the shards by the case durations of an earlier run (its folder or results.json; merged runs too); by case count without it')
    .option('--reporter <name>', `output format, repeatable: ${REPORTERS.join(', ')} (default tap on stdout; json prints results.json on stdout; junit → junit.xml, kcidb → kcidb.json in the run folder; github → $GITHUB_STEP_SUMMARY and ::error annotations)`, collect, [] as string[])
    .option('--kcidb-origin <origin>', 'the KCIDB origin (CI system name) of the kcidb reporter: ids are <origin>:…', 'ramdax');
}

export interface LabPlan {
  cases: Case[];
  shard?: ShardRecord;
  reporters: Set<ReporterName>;
}

/** Checked before anything boots: reporters, origin, shard, durations (bad input exits 2). */
export async function planLab(loaded: Case[], o: LabFlags, env: Record<string, string | undefined> = process.env): Promise<LabPlan> {
  const reporters = parseReporters(o.reporter);
  checkOrigin(o.kcidbOrigin);
  if (o.durations && !o.shard) throw inputError('--durations only balances shards: give --shard too');
  if (!o.shard) return { cases: loaded, reporters };
  let spec: ShardSpec;
  let source: string;
  if (o.shard === 'auto') ({ source, ...spec } = shardFromEnv(env));
  else {
    spec = parseShard(o.shard);
    source = `--shard ${o.shard}`;
  }
  const durations = o.durations ? durationMap(await readRun(o.durations)) : undefined;
  const cases = selectShard(loaded, spec, durations);
  return {
    cases,
    reporters,
    shard: { ...spec, source, balancedBy: durations ? 'durations' : 'count', harness: harnessVersion(), planned: loaded.map((c) => c.id), cases: cases.map((c) => c.id) },
  };
}

export function durationMap(run: RunResult): Map<string, number> {
  return new Map(run.cases.map((c) => [c.id, c.durationMs]));
}

/** After the run: shard.json, the file reporters, results.json on stdout for `--reporter json`. */
export async function finishLab(run: RunResult, plan: LabPlan, o: LabFlags, write: (t: string) => void = (t) => process.stdout.write(t)): Promise<void> {
  if (plan.shard) await writeShardRecord(run.dir, plan.shard);
  const tapOnStdout = plan.reporters.has('tap');
  const files = await writeOutputs(run.dir, run, plan.reporters, { origin: o.kcidbOrigin, annotate: tapOnStdout ? (l) => process.stderr.write(l) : write });
  for (const f of files) process.stderr.write(`ramdax-harness: wrote ${f}\n`);
  if (plan.reporters.has('json')) write(`${JSON.stringify(run, null, 2)}\n`);
}
