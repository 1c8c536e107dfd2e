/**
 * One writer per run folder: `run.lock` holds the writer's pid and process
 * start time, created exclusively (O_EXCL). A second writer — another run
 * given the same folder, `report` on a run still going — is refused, naming
 * the holder. A lock whose holder is gone (killed) is taken over.
 */
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { infraError } from '../common/errors.js';
import { processStart, sameProcessAlive } from '../vm/live-registry.js';

export const LOCK_FILE = 'run.lock';

export interface RunLock {
  release(): Promise<void>;
}

export async function lockRunDir(dir: string, what: string): Promise<RunLock> {
  const path = join(dir, LOCK_FILE);
  const me = { pid: process.pid, start: processStart(process.pid) ?? '?', what };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o644);
      try {
        await fh.writeFile(`${JSON.stringify(me)}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      let released = false;
      return {
        release: async () => {
          if (released) return;
          released = true;
          await rm(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw infraError(`cannot lock ${dir} for writing`, err);
      const holder = await readFile(path, 'utf8').then((t) => JSON.parse(t) as typeof me).catch(() => undefined);
      if (holder && sameProcessAlive(holder.pid, holder.start)) {
        throw infraError(`${dir} is being written by ${holder.what} (pid ${holder.pid}): one writer per run folder`, undefined, 'wait for it to end, or use another --results folder');
      }
      // The holder died without releasing it (or left a torn file): take it over.
      await rm(path, { force: true });
    }
  }
  throw infraError(`cannot lock ${dir}: ${LOCK_FILE} keeps reappearing`);
}
