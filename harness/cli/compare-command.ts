import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { inputError } from '../common/errors.js';
import { ExitCode } from '../common/exit-codes.js';
import { compareRuns } from '../perf/compare.js';
import { comparisonTap, hasRegression } from '../perf/compare-tap.js';
import type { RunResult } from '../model/results.js';

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

/** Compare a run with one or more baseline runs: TAP text and the exit status (1 when a metric regressed). */
export async function compareDirs(baselineDirs: readonly string[], currentDir: string): Promise<{ tap: string; exitCode: number }> {
  const [current, ...baselines] = await Promise.all([currentDir, ...baselineDirs].map(readRun));
  const c = compareRuns(baselines, current!);
  const tap = comparisonTap(c, { baseline: baselines.map((b, i) => `${b.runId} (${baselineDirs[i]})`).join(', '), current: `${current!.runId} (${currentDir})` });
  return { tap, exitCode: hasRegression(c) ? ExitCode.testFailed : ExitCode.ok };
}

export function registerCompare(program: Command, setExit: (code: number) => void): void {
  program
    .command('compare')
    .description('compare the metrics of a run with baseline runs: TAP, one point per paired metric; a regression beyond the measured noise fails (exit 1). Several baseline runs (separate boots) let the boot-to-boot noise be measured')
    .argument('<runs...>', 'baseline run folder(s) (results/<run-id>), then the run folder to judge (last)')
    .action(async (runs: string[]) => {
      if (runs.length < 2) throw inputError('compare takes at least two run folders: baseline run(s), then the run to judge');
      const { tap, exitCode } = await compareDirs(runs.slice(0, -1), runs.at(-1)!);
      process.stdout.write(tap);
      setExit(exitCode);
    });
}
