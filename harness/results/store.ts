import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/fs.js';
import { safeName } from '../common/names.js';
import { lockRunDir, type RunLock } from './run-lock.js';
import type { CaseResult, RunResult, Status } from './model.js';

/**
 * The run folder, written as things happen: events.jsonl gets one line per
 * finished test point and case (append), results.json is rewritten atomically
 * after every case, so a run killed at any moment keeps what had finished.
 */
export class ResultStore {
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

  /** Appends are serialized: two cases ending together (-j 2) never interleave within a line. */
  private appends: Promise<void> = Promise.resolve();

  event(e: Record<string, unknown>): Promise<void> {
    const line = `${JSON.stringify({ at: new Date().toISOString(), ...e })}\n`;
    this.appends = this.appends.then(() => this.guard('events.jsonl', () => appendFile(join(this.dir, 'events.jsonl'), line)));
    return this.appends;
  }

  async addCase(c: CaseResult): Promise<void> {
    this.run.cases.push(c);
    this.run.counts = countPoints(this.run.cases);
    await this.event({ type: 'case-end', id: c.id, status: c.status });
    await this.flush();
  }

  /** Rewrites are serialized too, and each writes the state at its turn: the last one on disk is the newest. */
  private flushes: Promise<void> = Promise.resolve();

  flush(): Promise<void> {
    this.flushes = this.flushes.then(() => this.guard('results.json', () => writeFileAtomic(join(this.dir, 'results.json'), `${JSON.stringify(this.run, null, 2)}\n`)));
    return this.flushes;
  }
}

export function countPoints(cases: CaseResult[]): Record<Status, number> {
  const counts: Record<Status, number> = { pass: 0, fail: 0, error: 0, miss: 0, skip: 0 };
  for (const c of cases) for (const p of c.points) counts[p.status]++;
  return counts;
}

export { safeName };
