import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { infraError, HarnessError } from '../common/errors.js';
import { ExitCode } from '../common/exit-codes.js';
import { writeFileAtomic } from '../common/fs.js';
import { stderrLogger } from '../common/log.js';
import { readRun } from '../results/read.js';
import { writeReport } from '../report/write.js';
import { symbolizeCase } from '../results/symbolize-case.js';
import { cacheOption } from './options.js';

/** `report --symbols`: symbolize the findings of a finished run (Debian kernels: fetch the -dbg package) and rewrite its results.json. */
async function symbolizeRun(runDir: string, cacheDir: string): Promise<void> {
  const run = await readRun(runDir);
  const log = stderrLogger();
  for (const c of run.cases) {
    if (c.status !== 'fail' && c.status !== 'error') continue;
    const note = await symbolizeCase(c, runDir, { cacheDir, log, fetch: true });
    if (note) process.stderr.write(`ramdax-harness: ${c.id}: ${note}\n`);
  }
  await writeFileAtomic(join(runDir, 'results.json'), `${JSON.stringify(run, null, 2)}\n`);
}

export function registerReport(program: Command, setExit: (code: number) => void): void {
  program
    .command('report')
    .description('write <run-dir>/report.html (self-contained: cases, findings, boot times, metric plots, baseline deltas), report.txt (plain text for a mailing list) and metrics.csv / metrics.json from results.json')
    .argument('<run-dir>', 'a run folder (results/<run-id>/)')
    .option('--baseline <run-dir>', 'an earlier run folder to compare the metrics and case statuses with')
    .option('--text', 'print report.txt (≤ 80 columns, one block per distinct failure) on stdout instead of the file names')
    .option('--symbols', "symbolize the failures' kernel traces first (Debian kernels: download linux-image-RELEASE-dbg, about 1.2 GB)")
    .addOption(cacheOption())
    .action(async (runDir: string, o: { baseline?: string; text?: boolean; symbols?: boolean; cache: string }) => {
      await readRun(runDir);
      if (o.symbols) await symbolizeRun(runDir, o.cache);
      const r = await writeReport(runDir, o.baseline).catch((err) => {
        throw err instanceof HarnessError ? err : infraError(`cannot write the report into ${runDir}`, err);
      });
      if (o.text) process.stdout.write(await readFile(r.text, 'utf8'));
      else process.stdout.write(`${r.html}\n${r.text}\n${r.csv}\n${r.json}\n`);
      process.stderr.write(`ramdax-harness: report of ${r.cases} case(s), ${r.metrics} metric(s)\n`);
      setExit(ExitCode.ok);
    });
}
