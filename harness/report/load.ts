import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inputError } from '../common/errors.js';
import type { RunResult } from '../model/results.js';

/** Read `<runDir>/results.json`; a missing or malformed file is bad input (exit 2). */
export async function readRun(runDir: string): Promise<RunResult> {
  const path = join(runDir, 'results.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw inputError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): is ${runDir} a run folder?`);
  }
  let run: unknown;
  try {
    run = JSON.parse(text);
  } catch (err) {
    throw inputError(`${path}: not JSON (${(err as Error).message})`);
  }
  if (typeof run !== 'object' || run === null || !Array.isArray((run as RunResult).cases) || typeof (run as RunResult).runId !== 'string') {
    throw inputError(`${path}: not a harness results file (needs runId and cases)`);
  }
  return run as RunResult;
}
