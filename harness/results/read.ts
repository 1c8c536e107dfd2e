import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { inputError } from '../common/errors.js';
import type { RunResult } from '../model/results.js';

/**
 * A run folder (or its results.json) → the run, for `report`, `compare` and
 * `run --baseline`. A wrong path or a file that is not a harness results file
 * is bad input (exit 2).
 */
export async function readRun(path: string): Promise<RunResult> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw inputError(`${path}: no such run folder`);
  const file = st.isDirectory() ? join(path, 'results.json') : path;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw inputError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): is ${path} a run folder?`);
  }
  let run: unknown;
  try {
    run = JSON.parse(text);
  } catch (err) {
    throw inputError(`${file}: not JSON (${(err as Error).message})`);
  }
  if (typeof run !== 'object' || run === null || !Array.isArray((run as RunResult).cases) || typeof (run as RunResult).runId !== 'string') {
    throw inputError(`${file}: not a results.json of ramdax-harness (needs runId and cases)`);
  }
  return run as RunResult;
}
