import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { infraError } from '../common/errors.js';
import { harnessVersion } from '../common/version.js';
import { stderrLogger } from '../common/log.js';
import { defaultResultsDir } from '../common/paths.js';
import { readRepro } from '../results/repro.js';
import { runCases } from '../runner/run.js';
import { keyPaths } from '../setup/keys.js';
import { withRepeats } from '../perf/repeat.js';
import { compareDirs, readRun } from './compare-command.js';
import { kernelRoot } from '../setup/artifacts.js';
import { cachedKernel } from './kernel-command.js';
import { withoutAxis } from '../matrix/kernel-axis.js';
import { loadCases } from './load-cases.js';
import { writeReport } from '../report/write.js';
import { cacheOption } from './options.js';
import { loadCatalog } from '../catalog/catalog.js';
import { verifyForRun } from '../setup/verified.js';

interface RunFlags {
  cache: string;
  jobs: number;
  results: string;
  qemu: string;
  qemuArm64: string;
  sshPort?: number;
  repeat?: number;
  /** Only `run` has --baseline (repeatable); `repro` has none. */
  baseline?: string[];
  kernel: string[];
  verify?: boolean;
  /** Only `run` has --arch; `repro` runs the bundle's case. */
  arch?: string[];
}

/** A commander parser for a whole number in 1..max; anything else is bad input (exit 2). */
function positiveInt(flag: string, max = 64): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`${flag} takes a whole number from 1 to ${max}`);
    return n;
  };
}

function runOptions(cmd: Command): Command {
  return cmd
    .addOption(cacheOption())
    .option('-j, --jobs <n>', 'VMs to run at once', positiveInt('--jobs'), 1)
    .option('--results <dir>', 'where run folders are written', defaultResultsDir())
    .option('--qemu <binary>', 'QEMU system emulator for x86_64 guests', 'qemu-system-x86_64')
    .option('--qemu-arm64 <binary>', 'QEMU system emulator for arm64 guests (machine: { arch: arm64 })', 'qemu-system-aarch64')
    .option('--kernel <name>', 'run on this kernel instead of the scenario\'s (repeat for a kernel axis: ids get [kernel=NAME])', collect, [] as string[])
    .option('--verify', 'hash every cached kernel and image file in full before booting (by default only files whose size or mtime changed since they were verified)', false)
    .option('--ssh-port <port>', 'host port (127.0.0.1) to try first for the SSH forward; taken ports fall back to free ones', positiveInt('--ssh-port', 65535));
}

/** Commander: a repeatable option collects its values. */
export const collect = (v: string, prev: string[]) => [...prev, v];

/** Every kernel named with --kernel must be fetched before anything boots (exit 3 with the command that fixes it). */
async function checkFetched(cacheDir: string, kernels: string[]): Promise<void> {
  for (const k of new Set(kernels)) {
    if (!(await cachedKernel(cacheDir, k))) throw infraError(`kernel '${k}' is not fetched yet (no ${kernelRoot(cacheDir, k)}/current.json): nothing was started`, undefined, `run \`npx ramdax-harness kernel fetch ${k}\` (or \`kernel build ${k}\` for a source kernel)`);
  }
}

async function runPaths(paths: string[], filters: string[], o: RunFlags): Promise<number> {
  const loaded = await loadCases(paths, filters, o.kernel, { arches: o.arch });
  await checkFetched(o.cache, o.kernel);
  const cases = o.repeat ? withRepeats(loaded, o.repeat) : loaded;
  // Cached kernels and images are checked before they boot; a corrupted one is fetched or built again.
  await verifyForRun(cases, o.cache, await loadCatalog(), stderrLogger(), { full: !!o.verify, qemu: o.qemu });
  // A bad baseline is bad input: found out before anything boots.
  const baselines = o.baseline ?? [];
  for (const b of baselines) await readRun(b);
  const { exitCode, run } = await runCases({
    cases,
    resultsRoot: o.results,
    cacheDir: o.cache,
    keys: keyPaths(o.cache),
    jobs: o.jobs,
    qemuBinary: o.qemu,
    qemuBinaries: { arm64: o.qemuArm64 },
    log: stderrLogger(),
    version: harnessVersion(),
    firstSshPort: o.sshPort,
  });
  const judged = baselines.length ? await judgeAgainst(baselines, run.dir) : 0;
  // The report's baseline section shows the first baseline run.
  await reportOf(run.dir, baselines[0]);
  return Math.max(exitCode, judged);
}

/**
 * Every run ends with its report.html, metrics.csv and metrics.json. The
 * results are already on disk, so a report that cannot be written is a
 * warning with the command that retries it, never a lost run.
 */
async function reportOf(runDir: string, baseline?: string): Promise<void> {
  try {
    const r = await writeReport(runDir, baseline);
    process.stderr.write(`ramdax-harness: report ${r.html} (${r.cases} case(s), ${r.metrics} metric(s)); metrics.csv and metrics.json beside it\n`);
  } catch (err) {
    process.stderr.write(`ramdax-harness: warning: no report written (${err instanceof Error ? err.message : String(err)}); retry with: ramdax-harness report ${runDir}\n`);
  }
}

/** `run --baseline`: the comparison goes to <run>/compare.tap (stdout keeps the run's one TAP document), a summary to stderr. */
async function judgeAgainst(baselines: string[], runDir: string): Promise<number> {
  const { tap, exitCode } = await compareDirs(baselines, runDir);
  await writeFile(join(runDir, 'compare.tap'), tap);
  const verdicts = tap.split('\n').filter((l) => /^(not )?ok \d+ - perf (regression|improvement)|SKIP inconclusive/.test(l) || /^# \d+ regression/.test(l));
  process.stderr.write(`ramdax-harness: compared with baseline ${baselines.join(', ')} (${join(runDir, 'compare.tap')}):\n${verdicts.map((l) => `  ${l}\n`).join('')}`);
  return exitCode;
}

export function registerRun(program: Command, setExit: (code: number) => void): void {
  runOptions(
    program
      .command('run')
      .description('boot one VM per case, run its steps over SSH, stream TAP to stdout; results, console and dmesg go to results/<run-id>/')
      .argument('[paths...]', 'scenario files or folders', ['scenarios'])
      .option('--filter <glob...>', 'run only cases whose id matches a glob', [])
      .option('--arch <arch>', 'run only cases of this guest architecture (x86_64, arm64; repeatable)', collect, [] as string[])
      .option('--repeat <n>', 'samples per fio/bench step (overrides the scenario and step repeats:)', positiveInt('--repeat', 100))
      .option('--baseline <run-dir>', 'after the run, compare its metrics with this run folder (compare.tap in the run folder); a regression exits 1. Repeat it with runs of separate boots: the boot-to-boot noise is then measured, not assumed', collect, [] as string[]),
  ).action(async (paths: string[], o: RunFlags & { filter: string[] }) => setExit(await runPaths(paths, o.filter, o)));
}

export function registerRepro(program: Command, setExit: (code: number) => void): void {
  runOptions(
    program
      .command('repro')
      .description("re-run just the failed case of a reproducer bundle (results/<run-id>/<case>/repro/) with the bundle's scenario")
      .argument('<dir>', 'a repro/ folder (or the case folder holding it)'),
  ).action(async (dir: string, o: RunFlags) => {
    const m = await readRepro(dir).catch((err) => {
      throw infraError(`${dir} is not a reproducer bundle (no repro/case.json)`, err);
    });
    process.stderr.write(`ramdax-harness: reproducing case '${m.caseId}' of run ${m.runId} (failed: ${m.failedPoint?.name ?? '?'})\n`);
    // The kernel the case ran on (it may have come from --kernel): its id without a kernel axis matches then.
    const kernel = o.kernel.length ? o.kernel : m.kernel?.name ? [m.kernel.name] : [];
    setExit(await runPaths([m.scenarioFile], [m.caseId, withoutAxis(m.caseId, 'kernel')], { ...o, kernel }));
  });
}
