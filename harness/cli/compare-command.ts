import type { Command } from 'commander';
import { inputError } from '../common/errors.js';
import { ExitCode } from '../common/exit-codes.js';
import { compareRuns } from '../perf/compare.js';
import { comparisonTap, hasRegression } from '../perf/compare-tap.js';
import { readRun } from '../results/read.js';

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
