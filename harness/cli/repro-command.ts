import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { infraError, inputError } from '../common/errors.js';
import { ExitCode } from '../common/exit-codes.js';
import { exists } from '../common/fs.js';
import { stderrLogger } from '../common/log.js';
import { harnessVersion } from '../common/version.js';
import { withoutAxis } from '../matrix/kernel-axis.js';
import { packCase } from '../report/pack.js';
import { compareOutcome, rateLine } from '../results/outcome.js';
import { readRepro } from '../results/repro.js';
import { archivedCase, receiveArchive } from '../results/unpack.js';
import { writeReport } from '../report/write.js';
import { positiveInt, runOptions, runPaths, type RunFlags } from './run-command.js';

interface ReproFlags extends RunFlags {
  pack?: boolean;
  withRootfs?: boolean;
  out?: string;
  attempts: number;
  unpackOnly?: boolean;
}

const isArchive = (p: string) => /\.(tar\.gz|tgz)$/.test(p);

/** The run folder and case id of a repro/ folder or a case folder. */
async function locateCase(target: string): Promise<{ runDir: string; caseId: string }> {
  const m = await readRepro(target).catch(() => {
    throw inputError(`${target}: not a reproducer bundle (no repro/case.json): give a case folder, its repro/ folder, or a .tar.gz archive`);
  });
  let dir = resolve(target);
  for (let i = 0; i < 4 && !(await exists(join(dir, 'results.json'))); i++) dir = dirname(dir);
  if (!(await exists(join(dir, 'results.json')))) throw inputError(`${target}: no results.json in the folders above it: is it inside a run folder?`);
  return { runDir: dir, caseId: m.caseId };
}

/** `repro ARCHIVE`: unpack, verify, boot, run the case, compare with the recorded outcome; --attempts N. */
async function reproArchive(archive: string, o: ReproFlags): Promise<number> {
  const log = stderrLogger();
  const u = await receiveArchive(archive, o.cache, log);
  const say = (l: string) => process.stderr.write(`ramdax-harness: ${l}\n`);
  for (const l of u.lines) say(l);
  if (o.unpackOnly) {
    process.stdout.write(`${u.dir}\n`);
    say(`unpacked; boot it by hand with ${join(u.dir, 'repro.sh')}`);
    return ExitCode.ok;
  }
  const c = await archivedCase(u);
  const want = u.manifest.outcome.findings[0] ? `finding '${u.manifest.outcome.findings[0]}'` : `'${u.manifest.outcome.point?.name}' ${u.manifest.outcome.point?.status}`;
  say(`reproducing case '${u.manifest.caseId}' of run ${u.manifest.runId} (${want}), ${o.attempts} attempt(s)`);
  const version = harnessVersion();
  // The runner (QEMU, SSH, …) is loaded when a reproduction boots, as for `run`.
  const { runCases } = await import('../runner/run.js');
  let hits = 0;
  let worst: number = ExitCode.ok;
  for (let i = 1; i <= o.attempts; i++) {
    const { exitCode, run } = await runCases({ cases: [c], resultsRoot: o.results, cacheDir: o.cache, keys: u.keys, jobs: 1, qemuBinary: o.qemu, log, version, firstSshPort: o.sshPort, symbols: o.symbols });
    if (exitCode === ExitCode.interrupted) return exitCode;
    // The reproduction's own report.html and report.txt (its trace symbolized when this machine has symbols).
    await writeReport(run.dir).catch((err) => say(`warning: no report for ${run.dir}: ${(err as Error).message}`));
    const got = run.cases[0];
    const v = got ? compareOutcome(u.manifest.outcome, got) : { reproduced: false, message: 'not reproduced: the case did not run' };
    say(`attempt ${i}: ${v.message} (${run.dir})`);
    if (v.reproduced) hits++;
    else if (exitCode === ExitCode.infra) worst = ExitCode.infra;
  }
  if (o.attempts > 1) say(rateLine(hits, o.attempts));
  if (u.imageDiffers) say('note: the root image differed from the one the case failed on (see above)');
  process.stdout.write(`${hits ? `reproduced: ${u.manifest.outcome.findings[0] ? `same finding '${u.manifest.outcome.findings[0]}'` : `same failure '${u.manifest.outcome.point?.name}'`}` : 'not reproduced'}${o.attempts > 1 ? ` (${hits}/${o.attempts})` : ''}\n`);
  if (hits) return ExitCode.ok;
  return worst === ExitCode.infra ? ExitCode.infra : ExitCode.testFailed;
}

export function registerRepro(program: Command, setExit: (code: number) => void): void {
  runOptions(
    program
      .command('repro')
      .description(
        'reproduce a failed case: from its bundle (results/<run-id>/<case>/repro/) re-run it here; with --pack write a portable archive of it; ' +
          'from an archive (.tar.gz, from any machine) unpack, verify every sha256, boot, run it and compare: exit 0 reproduced (same finding), 1 not reproduced, 2 bad archive, 3 host problem',
      )
      .argument('<target>', 'a case folder or its repro/ folder, or a reproducer archive (.tar.gz)')
      .option('--pack', 'write the portable archive of the case (into its run folder, or --out)')
      .option('--with-rootfs', 'with --pack: include the root image (built without any SSH key; ~100 MB more)')
      .option('--out <dir>', 'with --pack: the folder for the archive')
      .option('--attempts <n>', 'archives: run the case this many times and report the rate (flaky bugs)', positiveInt('--attempts', 100), 1)
      .option('--unpack-only', 'archives: unpack, verify and prepare kernel and image, print the folder (for its repro.sh); boot nothing'),
  ).action(async (target: string, o: ReproFlags) => {
    if (isArchive(target)) {
      if (o.pack) throw inputError('--pack takes a case folder, not an archive');
      return setExit(await reproArchive(target, o));
    }
    if (o.pack) {
      const { runDir, caseId } = await locateCase(target);
      const r = await packCase({ runDir, caseId, cacheDir: o.cache, withRootfs: o.withRootfs, outDir: o.out, log: stderrLogger() });
      for (const n of r.notes) process.stderr.write(`ramdax-harness: note: ${n}\n`);
      process.stderr.write(`ramdax-harness: archive of '${caseId}': ${(r.bytes / 2 ** 20).toFixed(1)} MiB\n`);
      process.stdout.write(`${r.file}\n`);
      return setExit(ExitCode.ok);
    }
    const m = await readRepro(target).catch((err) => {
      throw infraError(`${target} is not a reproducer bundle (no repro/case.json)`, err);
    });
    process.stderr.write(`ramdax-harness: reproducing case '${m.caseId}' of run ${m.runId} (failed: ${m.failedPoint?.name ?? '?'})\n`);
    // The kernel the case ran on (it may have come from --kernel): its id without a kernel axis matches then.
    const kernel = o.kernel.length ? o.kernel : m.kernel?.name ? [m.kernel.name] : [];
    setExit(await runPaths([m.scenarioFile], [m.caseId, withoutAxis(m.caseId, 'kernel')], { ...o, kernel }));
  });
}
