import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/fs.js';
import type { CaseEvent } from '../model/events.js';
import type { CommandResult } from '../model/guest.js';
import type { CaseResult, RunResult } from '../model/results.js';
import type { Status } from '../model/status.js';
import type { PlannedCase, Reporter } from '../reporters/reporter.js';

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

  static async create(resultsRoot: string, run: Omit<RunResult, 'dir'>): Promise<ResultStore> {
    const dir = join(resultsRoot, run.runId);
    await mkdir(dir, { recursive: true });
    const store = new ResultStore(dir, { ...run, dir });
    // The first write must work: otherwise nothing is started at all.
    await writeFileAtomic(join(dir, 'results.json'), `${JSON.stringify(store.run, null, 2)}\n`);
    return store;
  }

  caseDir(caseId: string): string {
    return join(this.dir, safeName(caseId));
  }

  async onEvent(c: PlannedCase, e: CaseEvent): Promise<void> {
    await this.guard('events.jsonl', () => appendFile(join(this.dir, 'events.jsonl'), `${JSON.stringify(eventLine(c.id, e))}\n`));
    if (e.type === 'command') await this.guard('commands.log', () => appendFile(join(this.caseDir(c.id), 'commands.log'), formatCommand(e.result)));
    if (e.type === 'kernel-log') await this.guard('dmesg.txt', () => writeFile(join(this.caseDir(c.id), 'dmesg.txt'), `${e.lines.join('\n')}\n`));
  }

  async onCaseEnd(_c: PlannedCase, result: CaseResult): Promise<void> {
    this.run.cases.push(result);
    this.run.counts = countPoints(this.run.cases);
    await this.flush();
  }

  flush(): Promise<void> {
    return this.guard('results.json', () => writeFileAtomic(join(this.dir, 'results.json'), `${JSON.stringify(this.run, null, 2)}\n`));
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

/** A case id as a folder name: `fsdax[fs=xfs]` -> `fsdax_fs=xfs_`. */
export function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9._=+-]/g, '_');
}
