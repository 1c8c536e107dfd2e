import { cp, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { inputError } from '../common/errors.js';
import { ExitCode } from '../common/exit-codes.js';
import { writeFileAtomic } from '../common/fs.js';
import { writeReport } from '../report/write.js';
import { readRun } from '../results/read.js';
import { mergeProblems, mergeRuns, tapOf, type ShardInput } from '../results/merge.js';
import { LOCK_FILE } from '../results/run-lock.js';
import { readShardRecord, SHARD_FILE } from '../results/shard-record.js';
import { checkOrigin, writeOutputs } from '../reporters/outputs.js';
import { exitCodeFor } from '../runner/run.js';

/** Files of a run folder that the merge writes anew instead of copying (report.log: the background report's messages, one per shard). */
const REWRITTEN = new Set(['results.json', 'results.tap', 'events.jsonl', SHARD_FILE, LOCK_FILE, 'report.html', 'report.txt', 'metrics.csv', 'metrics.json', 'junit.xml', 'kcidb.json', 'github-summary.md', 'compare.tap', 'report.log']);

/** `merge DIR… --out DIR`: one run folder from shard folders; returns the exit status of the merged run. */
export async function mergeDirs(dirs: string[], out: string, o: { force?: boolean; origin: string; github?: boolean }): Promise<number> {
  checkOrigin(o.origin);
  if (new Set(dirs.map((d) => resolve(d))).size !== dirs.length) throw inputError(`merge: a folder is given twice (${dirs.join(' ')})`);
  if (dirs.some((d) => resolve(d) === resolve(out))) throw inputError(`merge: --out ${out} is one of the shard folders`);
  const inputs: ShardInput[] = [];
  for (const dir of dirs) inputs.push({ dir, run: await readRun(dir), shard: await readShardRecord(dir) });
  const problems = mergeProblems(inputs).filter((p) => !(o.force && (p.kind === 'version' || p.kind === 'plan' || p.kind === 'missing' || p.kind === 'shard')));
  if (problems.length) throw inputError(`merge: the folders do not make one run:\n${problems.map((p) => `  ${p.message}`).join('\n')}`, problems.some((p) => p.kind !== 'overlap' && p.kind !== 'running') ? '--force merges them anyway (overlapping cases never)' : undefined);
  const existing = await readdir(out).catch(() => []);
  if (existing.length) throw inputError(`merge: --out ${out} exists and is not empty`);
  await mkdir(out, { recursive: true });
  // Case folders (console, dmesg, commands, repro bundles) and archives: copied as they are.
  for (const i of inputs) {
    for (const name of await readdir(i.dir)) {
      if (REWRITTEN.has(name)) continue;
      const dest = join(out, name);
      if (await stat(dest).catch(() => undefined)) throw inputError(`merge: ${name} is in two shard folders (the second is ${i.dir})`);
      await cp(join(i.dir, name), dest, { recursive: true });
    }
  }
  const run = mergeRuns(inputs, out);
  await writeFileAtomic(join(out, 'results.json'), `${JSON.stringify(run, null, 2)}\n`);
  await writeFileAtomic(join(out, 'results.tap'), tapOf(run));
  await writeFileAtomic(join(out, 'events.jsonl'), await mergedEvents(inputs));
  await writeReport(out);
  await writeOutputs(out, run, new Set(o.github ? ['junit', 'kcidb', 'github'] : ['junit', 'kcidb']), { origin: o.origin, annotate: (l) => process.stderr.write(l) });
  return exitCodeFor(run.status);
}

/** Every shard's events, each tagged with its shard, in time order. */
async function mergedEvents(inputs: ShardInput[]): Promise<string> {
  const events: { at: string; line: Record<string, unknown> }[] = [];
  for (const i of inputs) {
    const text = await readFile(join(i.dir, 'events.jsonl'), 'utf8').catch(() => '');
    for (const l of text.split('\n')) {
      if (!l.trim()) continue;
      try {
        const e = JSON.parse(l) as Record<string, unknown>;
        events.push({ at: String(e.at ?? ''), line: { ...e, shard: i.shard ? `${i.shard.index}/${i.shard.total}` : i.run.runId } });
      } catch {
        // A torn last line of a killed run: not an event.
      }
    }
  }
  events.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return events.map((e) => `${JSON.stringify(e.line)}\n`).join('');
}

export function registerMerge(program: Command, setExit: (code: number) => void): void {
  program
    .command('merge')
    .description('make one run folder from shard folders (`run --shard`): one TAP document (results.tap), results.json, events.jsonl, metrics, report.html, junit.xml, kcidb.json; refuses overlapping shards, other harness versions or scenario sets, missing shards (exit 2, naming what differs)')
    .argument('<dirs...>', 'shard run folders (results/<run-id>)')
    .requiredOption('--out <dir>', 'the merged run folder to create (must not exist or be empty)')
    .option('--force', 'merge folders of different harness versions or scenario sets, or with shards missing (overlapping cases are refused always)')
    .option('--kcidb-origin <origin>', 'the KCIDB origin of kcidb.json', 'ramdax')
    .option('--github', 'also the GitHub step summary ($GITHUB_STEP_SUMMARY, else github-summary.md) and ::error annotations (stderr)')
    .action(async (dirs: string[], o: { out: string; force?: boolean; kcidbOrigin: string; github?: boolean }) => {
      const code = await mergeDirs(dirs, o.out, { force: o.force, origin: o.kcidbOrigin, github: o.github });
      process.stdout.write(await readFile(join(o.out, 'results.tap'), 'utf8'));
      process.stderr.write(`ramdax-harness: merged ${dirs.length} folder(s) into ${o.out}\n`);
      setExit(code === ExitCode.ok ? ExitCode.ok : code);
    });
}
