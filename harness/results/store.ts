import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/fs.js';
import type { CaseEvent } from '../model/events.js';
import type { CommandResult } from '../model/guest.js';
import type { CaseResult, RunResult } from '../model/results.js';
import type { Status } from '../model/status.js';
import type { PlannedCase, Reporter } from '../reporters/reporter.js';
import { safeName } from '../common/names.js';
import { lockRunDir, type RunLock } from './run-lock.js';

/**
 * The run folder, written as things happen — a reporter on the case event
 * stream like any other: events.jsonl gets every event (bulky parts by
 * reference: command output is in the case's commands.log, the kernel log in
 * its dmesg.txt), results.json is rewritten atomically after every case, so a
 * run killed at any moment keeps what had finished.
 */
export class ResultStore implements Reporter {
  /** The first write that failed (disk full, folder made read-only...): the run then ends with exit 3. */
  writeError: Error | undefined;

  constructor(
    readonly dir: string,
    readonly run: RunResult,
  ) {}

  /** Writes after the run folder exists never throw: a lost write is recorded, the run goes on. */
  private async guard(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.writeError ??= new Error(`cannot write ${what} in ${this.dir}: ${(err as Error).message}`, { cause: err });
    }
  }

  private lock: RunLock | undefined;

  static async create(resultsRoot: string, run: Omit<RunResult, 'dir'>): Promise<ResultStore> {
    const dir = join(resultsRoot, run.runId);
    await mkdir(dir, { recursive: true });
    const store = new ResultStore(dir, { ...run, dir });
    // One writer per run folder, from the first write to the last.
    store.lock = await lockRunDir(dir, 'a run');
    try {
      // The first write must work: otherwise nothing is started at all.
      await writeFileAtomic(join(dir, 'results.json'), `${JSON.stringify(store.run, null, 2)}\n`);
    } catch (err) {
      await store.lock.release();
      throw err;
    }
    return store;
  }

  /** The run is over: the folder may be written by others (report, compare). */
  async close(): Promise<void> {
    await this.lock?.release().catch(() => undefined);
  }

  caseDir(caseId: string): string {
    return join(this.dir, safeName(caseId));
  }

  /** Appends are serialized: two cases streaming together (-j 2) never interleave within a line. */
  private appends: Promise<void> = Promise.resolve();

  private append(what: string, path: string, text: string): Promise<void> {
    this.appends = this.appends.then(() => this.guard(what, () => appendFile(path, text)));
    return this.appends;
  }

  async onEvent(c: PlannedCase, e: CaseEvent): Promise<void> {
    await this.append('events.jsonl', join(this.dir, 'events.jsonl'), `${JSON.stringify(eventLine(c.id, e))}\n`);
    if (e.type === 'command') await this.append('commands.log', join(this.caseDir(c.id), 'commands.log'), formatCommand(e.result));
    if (e.type === 'kernel-log') await this.guard('dmesg.txt', () => writeFile(join(this.caseDir(c.id), 'dmesg.txt'), `${e.lines.join('\n')}\n`));
  }

  async onCaseEnd(_c: PlannedCase, result: CaseResult): Promise<void> {
    this.run.cases.push(result);
    this.run.counts = countPoints(this.run.cases);
    await this.flush();
  }

  /** Rewrites are serialized too, and each writes the state at its turn: the last one on disk is the newest. */
  private flushes: Promise<void> = Promise.resolve();

  flush(): Promise<void> {
    this.flushes = this.flushes.then(() => this.guard('results.json', () => writeFileAtomic(join(this.dir, 'results.json'), `${JSON.stringify(this.run, null, 2)}\n`)));
    return this.flushes;
  }
}

/** One events.jsonl line: the event with its case and an ISO time; command output and kernel logs by reference. */
export function eventLine(caseId: string, e: CaseEvent): Record<string, unknown> {
  const { at, ...rest } = e;
  const line: Record<string, unknown> = { at: new Date(at).toISOString(), case: caseId, ...rest };
  if (e.type === 'command') {
    const { stdout, stderr, ...meta } = e.result;
    line.result = { ...meta, stdoutBytes: stdout.length, stderrBytes: stderr.length };
  }
  if (e.type === 'kernel-log') line.lines = e.lines.length;
  if (e.type === 'step-ended' && e.dmesg) line.dmesg = e.dmesg.length;
  return line;
}

export function formatCommand(r: CommandResult): string {
  return `$ ${r.command}\n# exit=${r.exitCode ?? r.signal}${r.timedOut ? ' (timed out)' : ''} ${r.durationMs}ms\n${r.stdout}${r.stderr ? `# stderr:\n${r.stderr}` : ''}\n`;
}

export function countPoints(cases: CaseResult[]): Record<Status, number> {
  const counts: Record<Status, number> = { pass: 0, fail: 0, error: 0, miss: 0, skip: 0 };
  for (const c of cases) for (const p of c.points) counts[p.status]++;
  return counts;
}

export { safeName };
