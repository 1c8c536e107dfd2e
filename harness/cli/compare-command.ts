import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { inputError } from '../common/errors.js';
import { ExitCode } from '../common/exit-codes.js';
import { compareRuns } from '../perf/compare.js';
import { comparisonTap, hasRegression } from '../perf/compare-tap.js';
import type { RunResult } from '../results/model.js';

/** A run folder (or its results.json) → the run; a wrong path is bad input (exit 2). */
export async function readRun(path: string): Promise<RunResult> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw inputError(`${path}: no such run folder`);
  const file = st.isDirectory() ? join(path, 'results.json') : path;
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) throw inputError(`${path}: not a run folder (no results.json)`);
  try {
    const run = JSON.parse(text) as RunResult;
    if (!Array.isArray(run.cases)) throw new Error('no cases');
    return run;
  } catch (err) {
    throw inputError(`${file}: not a results.json of ramdax-harness (${(err as Error).message})`);
  }
}

/** Compare two runs: TAP text and the exit status (1 when a metric regressed). */
export async function compareDirs(baselineDir: string, currentDir: string): Promise<{ tap: string; exitCode: number }> {
  const [baseline, current] = await Promise.all([readRun(baselineDir), readRun(currentDir)]);
  const c = compareRuns(baseline, current);
  const tap = comparisonTap(c, { baseline: `${baseline.runId} (${baselineDir})`, current: `${current.runId} (${currentDir})` });
  return { tap, exitCode: hasRegression(c) ? ExitCode.testFailed : ExitCode.ok };
}

export function registerCompare(program: Command, setExit: (code: number) => void): void {
  program
    .command('compare')
    .description('compare the metrics of a run with a baseline run: TAP, one point per paired metric; a regression beyond the measured noise fails (exit 1)')
    .argument('<baseline>', 'baseline run folder (results/<run-id>)')
    .argument('<run>', 'run folder to judge')
    .action(async (baselineDir: string, runDir: string) => {
      const { tap, exitCode } = await compareDirs(baselineDir, runDir);
      process.stdout.write(tap);
      setExit(exitCode);
    });
}
