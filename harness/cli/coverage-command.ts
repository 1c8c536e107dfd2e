import { resolve } from 'node:path';
import type { Command } from 'commander';
import { describeError, inputError } from '../common/errors.js';
import { host } from '../common/exec.js';
import { ExitCode } from '../common/exit-codes.js';
import { stderrLogger } from '../common/log.js';
import { readPatchSeries } from '../kbuild/patch-series.js';
import { coverageSummaryPath, mergeCoverage } from '../coverage/merge.js';
import { changedLines, type ChangedLines } from '../coverage/patch-lines.js';
import { buildRunCoverage, coverageRoot, tapComments } from '../coverage/report.js';
import { readRun } from '../results/read.js';
import { ensureCoverageTools } from '../coverage/tools.js';
import { collect } from './options.js';

/** --patch files and/or `--range TREE:A..B` → the changed lines (bad input exits 2). */
async function changesOf(o: { patch: string[]; range?: string }): Promise<ChangedLines | undefined> {
  const texts: string[] = [];
  if (o.range) {
    const m = /^(.+):([\w./~^@{}-]+\.\.[\w./~^@{}-]+)$/.exec(o.range);
    if (!m) throw inputError(`--range ${o.range}: expected TREE:A..B (a git tree and a revision range)`);
    const r = await host('git', ['-C', resolve(m[1]!), 'diff', '--no-color', '--no-ext-diff', '-U0', m[2]!]).catch((err) => {
      throw inputError(`--range ${o.range}: git diff failed: ${describeError(err).split('\n')[0]}`);
    });
    texts.push(r.stdout);
  }
  for (const p of await readPatchSeries(o.patch.map((f) => resolve(f)))) texts.push(p.content.toString('utf8'));
  return texts.length ? changedLines(texts) : undefined;
}

export function registerCoverage(program: Command, setExit: (code: number) => void): void {
  const cov = program.command('coverage').description('coverage of drivers/nvdimm and drivers/dax from runs made with `run --coverage`: merge runs, patch coverage (docs/coverage.md)');
  cov
    .command('merge')
    .description('merge the coverage of several run folders (shards, nightly runs of one coverage kernel) into one lcov tracefile, summary and HTML view')
    .argument('<run-dirs...>', 'run folders (results/<run-id>/) made with --coverage')
    .requiredOption('-o, --out <dir>', 'where the merged coverage folder is written')
    .option('--patch <file>', 'also report which lines of this patch ran (repeatable, in order)', collect, [] as string[])
    .option('--range <tree:a..b>', 'also report which lines changed in this git revision range ran')
    .action(async (runDirs: string[], o: { out: string; patch: string[]; range?: string }) => {
      const changed = await changesOf(o);
      // Bad input before anything is installed: every folder must hold a run's coverage.
      for (const d of runDirs) await coverageSummaryPath(d);
      await ensureCoverageTools(stderrLogger());
      const s = await mergeCoverage(runDirs, resolve(o.out), { log: stderrLogger(), changed });
      process.stdout.write(`${tapComments(s, resolve(o.out)).join('\n')}\n`);
      setExit(ExitCode.ok);
    });
  cov
    .command('build')
    .description('(re)write <run>/coverage/ from the counters each case saved (its coverage/*.tar.gz) and the kernel\'s .gcno files; with --patch/--range, patch coverage too')
    .argument('<run-dir>', 'a run folder made with --coverage')
    .option('--patch <file>', 'patch file (format-patch or mbox), repeatable, in order', collect, [] as string[])
    .option('--range <tree:a..b>', 'a git revision range of a tree')
    .action(async (runDir: string, o: { patch: string[]; range?: string }) => {
      const changed = await changesOf(o);
      const run = await readRun(runDir);
      await ensureCoverageTools(stderrLogger());
      const s = await buildRunCoverage({ ...run, dir: resolve(runDir) }, { log: stderrLogger(), changed });
      process.stdout.write(`${tapComments(s, coverageRoot(resolve(runDir))).join('\n')}\n`);
      setExit(ExitCode.ok);
    });
  cov
    .command('patch')
    .description('which added/changed lines of a patch series (or git range) the run executed, from an existing run folder')
    .argument('<run-dir>', 'a run folder made with --coverage')
    .option('--patch <file>', 'patch file (format-patch or mbox), repeatable, in order', collect, [] as string[])
    .option('--range <tree:a..b>', 'a git revision range of a tree')
    .action(async (runDir: string, o: { patch: string[]; range?: string }) => {
      const changed = await changesOf(o);
      if (!changed) throw inputError('coverage patch: give --patch FILE or --range TREE:A..B');
      await ensureCoverageTools(stderrLogger());
      const out = resolve(coverageRoot(runDir) + '-patch');
      const s = await mergeCoverage([runDir], out, { log: stderrLogger(), changed, title: `ramdax-harness ${runDir}: patch coverage` });
      process.stdout.write(`${tapComments(s, out).filter((l) => l.startsWith('# patch coverage')).join('\n')}\n`);
      setExit(ExitCode.ok);
    });
}
