import type { Command } from 'commander';
import { infraError, HarnessError } from '../common/errors.js';
import { ExitCode } from '../common/exit-codes.js';
import { writeReport } from '../report/write.js';

export function registerReport(program: Command, setExit: (code: number) => void): void {
  program
    .command('report')
    .description('write <run-dir>/report.html (self-contained: cases, findings, boot times, metric plots, baseline deltas) and metrics.csv / metrics.json from results.json')
    .argument('<run-dir>', 'a run folder (results/<run-id>/)')
    .option('--baseline <run-dir>', 'an earlier run folder to compare the metrics and case statuses with')
    .action(async (runDir: string, o: { baseline?: string }) => {
      const r = await writeReport(runDir, o.baseline).catch((err) => {
        throw err instanceof HarnessError ? err : infraError(`cannot write the report into ${runDir}`, err);
      });
      process.stdout.write(`${r.html}\n${r.csv}\n${r.json}\n`);
      process.stderr.write(`ramdax-harness: report of ${r.cases} case(s), ${r.metrics} metric(s)\n`);
      setExit(ExitCode.ok);
    });
}
