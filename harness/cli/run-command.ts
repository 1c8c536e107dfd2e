import { writeFile } from 'node:fs/promises';
import { closeSync, openSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { describeError, infraError, inputError } from '../common/errors.js';
import { harnessVersion } from '../common/version.js';
import { stderrLogger } from '../common/log.js';
import { defaultResultsDir, projectRoot } from '../common/paths.js';
import { keyPaths } from '../setup/keys.js';
import { withRepeats } from '../matrix/repeat.js';
import { compareDirs } from './compare-command.js';
import { readRun } from '../results/read.js';
import { kernelRoot } from '../setup/artifacts.js';
import { cachedKernel } from './kernel-cache.js';
import { loadCases } from './load-cases.js';
import { writeReport } from '../report/write.js';
import { autoPack } from '../report/auto-pack.js';
import { cacheOption, collect } from './options.js';
import { buildFromSource } from './source-builder.js';
import { loadCatalog } from '../catalog/catalog.js';
import { verifyForRun } from '../setup/verified.js';
import { resolveKernelArgs } from './kernel-ref.js';
import { ensureAdhocKernels } from './adhoc-kernels.js';
import { changedLines, type ChangedLines } from '../coverage/patch-lines.js';
import { ensureCoverageTools } from '../coverage/tools.js';
import { readPatchSeries } from '../kbuild/patch-series.js';
import { host } from '../common/exec.js';
import { finishLab, labOptions, planLab, type LabFlags } from './lab-options.js';

export interface RunFlags {
  cache: string;
  patch: string[];
  modules?: string;
  kernelConfig?: string;
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
  symbols?: boolean;
  /** When report.html is written: in a detached process (default), before exiting, or not at all. */
  report: 'background' | 'wait' | 'none';
  /** gcov coverage of drivers/nvdimm and drivers/dax (the kernels become their coverage builds). */
  coverage?: boolean;
  /** With --coverage and a git tree --kernel: patch coverage of this revision range (A..B) too. */
  coverageRange?: string;
  /** Only `run` has --arch; `repro` runs the bundle's case. */
  arch?: string[];
}

/** A commander parser for a whole number in 1..max; anything else is bad input (exit 2). */
export function positiveInt(flag: string, max = 64): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`${flag} takes a whole number from 1 to ${max}`);
    return n;
  };
}

export function runOptions(cmd: Command): Command {
  return cmd
    .addOption(cacheOption())
    .option('-j, --jobs <n>', 'VMs to run at once', positiveInt('--jobs'), 1)
    .option('--results <dir>', 'where run folders are written', defaultResultsDir())
    .option('--qemu <binary>', 'QEMU system emulator for x86_64 guests', 'qemu-system-x86_64')
    .option('--qemu-arm64 <binary>', 'QEMU system emulator for arm64 guests (machine: { arch: arm64 })', 'qemu-system-aarch64')
    .option('--kernel <name|path>', 'run on this kernel instead of the scenario\'s: a kernels/*.yaml name, the path of a bzImage, or the path of a kernel source tree (built out of tree in the cache with the ramdax fragment); repeat for a kernel axis (ids get [kernel=NAME])', collect, [] as string[])
    .option('--patch <file>', 'apply this patch (git format-patch file, or an mbox of several as b4 am writes) on top of the --kernel source kernel or tree; repeatable, applied in order', collect, [] as string[])
    .option('--modules <dir>', 'with --kernel PATH-to-a-bzImage: its modules (make modules_install INSTALL_MOD_PATH=DIR)')
    .option('--kernel-config <file>', 'with --kernel PATH: the bzImage\'s .config, or the base config for a tree (instead of tinyconfig; the ramdax fragment still goes on top)')
    .addOption(new Option('--report <when>', 'write report.html, metrics.csv/json: in a detached process after the run (the run ends with its last case), before exiting, or not at all').choices(['background', 'wait', 'none']).default('background'))
    .option('--verify', 'hash every cached kernel and image file in full before booting (by default only files whose size or mtime changed since they were verified)', false)
    .option('--symbols', "symbolize kernel traces, downloading debug symbols a kernel lacks (Debian: linux-image-RELEASE-dbg, about 1.2 GB for 7.2)")
    .option('--coverage', 'gcov coverage of drivers/nvdimm and drivers/dax: each --kernel (a source kernel or tree) becomes its coverage build NAME-cov; counters are saved before every power-off and reboot and per case; results/<run>/coverage/ gets an lcov tracefile and genhtml view; with --patch, patch coverage (docs/coverage.md)', false)
    .option('--coverage-range <a..b>', 'with --coverage and --kernel PATH-to-a-git-tree: also report which lines changed in this revision range ran')
    .option('--ssh-port <port>', 'host port (127.0.0.1) to try first for the SSH forward; taken ports fall back to free ones', positiveInt('--ssh-port', 65535));
}

/** Commander: a repeatable option collects its values. */

/** Every kernel named with --kernel must be fetched before anything boots (exit 3 with the command that fixes it). */
async function checkFetched(cacheDir: string, kernels: string[]): Promise<void> {
  for (const k of new Set(kernels)) {
    if (!(await cachedKernel(cacheDir, k))) throw infraError(`kernel '${k}' is not fetched yet (no ${kernelRoot(cacheDir, k)}/current.json): nothing was started`, undefined, `run \`npx ramdax-harness kernel fetch ${k}\` (or \`kernel build ${k}\` for a source kernel)`);
  }
}

export async function runPaths(paths: string[], filters: string[], o: RunFlags & Partial<LabFlags>): Promise<number> {
  const kernels = await resolveKernelArgs(await loadCatalog(), { kernel: o.kernel, patch: o.patch, modules: o.modules, kernelConfig: o.kernelConfig, cacheDir: o.cache, coverage: o.coverage });
  // Bad scenarios (and a bad --shard or --reporter) are found before a kernel is built.
  const lab = await planLab(await loadCases(paths, filters, kernels.names, { catalog: kernels.catalog, arches: o.arch }), { reporter: o.reporter ?? [], kcidbOrigin: o.kcidbOrigin ?? 'ramdax', shard: o.shard, durations: o.durations });
  const loaded = lab.cases;
  const coverage = o.coverage ? await coverageRequest(o, kernels, loaded) : undefined;
  const adhoc = new Set(kernels.adhoc.map((k) => k.name));
  await ensureAdhocKernels(kernels.adhoc, o.cache, stderrLogger(), { qemu: o.qemu });
  await checkFetched(o.cache, kernels.names.filter((n) => !adhoc.has(n)));
  const cases = o.repeat ? withRepeats(loaded, o.repeat) : loaded;
  // Cached kernels and images are checked before they boot; a corrupted one is fetched or built again.
  await verifyForRun(cases, o.cache, await loadCatalog(), stderrLogger(), { full: !!o.verify, qemu: o.qemu, buildSource: buildFromSource });
  // A bad baseline is bad input: found out before anything boots.
  const baselines = o.baseline ?? [];
  for (const b of baselines) await readRun(b);
  // The runner (QEMU, SSH, …) is loaded when a run starts: `list`, `validate` and bad input stay quick.
  const { runCases } = await import('../runner/run.js');
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
    symbols: o.symbols,
    coverage,
    // TAP goes to stdout unless another reporter was chosen (results.tap is written either way).
    ...(lab.reporters.has('tap') ? {} : { stdout: () => undefined }),
  });
  // The results are on disk already: an output that cannot be written is a warning with the command that retries it.
  await finishLab(run, lab, { reporter: o.reporter ?? [], kcidbOrigin: o.kcidbOrigin ?? 'ramdax' }).catch((err) => process.stderr.write(`ramdax-harness: warning: ${(err as Error).message}; retry with: ramdax-harness merge ${run.dir} --out DIR\n`));
  const judged = baselines.length ? await judgeAgainst(baselines, run.dir) : 0;
  // A portable archive per distinct failure (size permitting), before the report names them.
  if (run.status !== 'interrupted') await autoPack(run.dir, o.cache, stderrLogger());
  // The report's baseline section shows the first baseline run.
  if (o.report === 'wait') await reportOf(run.dir, baselines[0]);
  else if (o.report === 'background') reportInBackground(run.dir, baselines[0]);
  return Math.max(exitCode, judged);
}

/**
 * The report is not part of the verdict: a detached `ramdax-harness report`
 * writes it while this process exits (its messages go to report.log in the
 * run folder). A one-case run then ends when its case does.
 */
function reportInBackground(runDir: string, baseline?: string): void {
  try {
    const log = openSync(join(runDir, 'report.log'), 'a');
    const child = spawn(process.execPath, [join(projectRoot, 'bin', 'ramdax-harness.js'), 'report', runDir, ...(baseline ? ['--baseline', baseline] : [])], { detached: true, stdio: ['ignore', log, log] });
    child.unref();
    closeSync(log);
    process.stderr.write(`ramdax-harness: report ${join(runDir, 'report.html')} (metrics.csv and metrics.json beside it) is being written in the background (pid ${child.pid}; messages in report.log); \`ramdax-harness report ${runDir}\` writes it again\n`);
  } catch (err) {
    process.stderr.write(`ramdax-harness: warning: no report started (${err instanceof Error ? err.message : String(err)}); write it with: ramdax-harness report ${runDir}\n`);
  }
}

/**
 * Every run ends with its report.html, metrics.csv and metrics.json. The
 * results are already on disk, so a report that cannot be written is a
 * warning with the command that retries it, never a lost run.
 */
async function reportOf(runDir: string, baseline?: string): Promise<void> {
  try {
    const { writeReport } = await import('../report/write.js');
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
  const verdicts = tap.split('\n').filter((l) => /^# perf (regression|improvement)|SKIP inconclusive/.test(l) || /^# \d+ regression/.test(l));
  process.stderr.write(`ramdax-harness: compared with baseline ${baselines.join(', ')} (${join(runDir, 'compare.tap')}):\n${verdicts.map((l) => `  ${l}\n`).join('')}`);
  return exitCode;
}

/**
 * `--coverage`: the host tools are there (installed when missing), every
 * case runs on a coverage build, and the changed lines of --patch files and
 * --coverage-range are known before anything boots.
 */
async function coverageRequest(o: RunFlags, kernels: Awaited<ReturnType<typeof resolveKernelArgs>>, cases: { scenario: { kernel: string } }[]): Promise<{ changed?: ChangedLines }> {
  if (o.coverageRange && !o.coverage) throw inputError('--coverage-range goes with --coverage');
  if (!o.kernel.length) {
    const names = [...new Set(cases.map((c) => c.scenario.kernel))];
    throw inputError(`--coverage needs --kernel: a source kernel (e.g. source-7.2) or a kernel tree; the scenarios name ${names.join(', ')}`, 'e.g. `run --kernel source-7.2 --coverage scenarios/`');
  }
  const texts: string[] = [];
  if (o.coverageRange) {
    const tree = kernels.adhoc.find((k) => k.kind === 'tree' || (k.kind === 'coverage' && typeof k.def.source?.tree === 'string'));
    const dir = tree && typeof tree.def.source?.tree === 'string' ? tree.def.source.tree : undefined;
    if (!dir) throw inputError('--coverage-range needs --kernel PATH-to-a-git-tree (the range is read from that tree)');
    if (!/^[\w./~^@{}-]+\.\.[\w./~^@{}-]+$/.test(o.coverageRange)) throw inputError(`--coverage-range ${o.coverageRange}: expected A..B (two revisions)`);
    const r = await host('git', ['-C', dir, 'diff', '--no-color', '--no-ext-diff', '-U0', o.coverageRange]).catch((err) => {
      throw inputError(`--coverage-range ${o.coverageRange}: git diff in ${dir} failed: ${describeError(err).split('\n')[0]}`);
    });
    texts.push(r.stdout);
  }
  if (o.patch.length) for (const p of await readPatchSeries(o.patch.map((f) => resolve(f)))) texts.push(p.content.toString('utf8'));
  await ensureCoverageTools(stderrLogger());
  return texts.length ? { changed: changedLines(texts) } : {};
}

export function registerRun(program: Command, setExit: (code: number) => void): void {
  labOptions(runOptions(
    program
      .command('run')
      .description('boot one VM per case, run its steps over SSH, stream TAP to stdout; results, console and dmesg go to results/<run-id>/')
      .argument('[paths...]', 'scenario files or folders (default: scenarios/)')
      .option('--quick', 'run the quick suite, scenarios/quick/: every ramdax code path of the default run with shared boots, in minutes (for patch validation)', false)
      .option('--filter <glob>', 'run only cases whose id matches this glob (repeat for more: a case matching any runs)', collect, [] as string[])
      .option('--arch <arch>', 'run only cases of this guest architecture (x86_64, arm64; repeatable)', collect, [] as string[])
      .option('--repeat <n>', 'samples per fio/bench step (overrides the scenario and step repeats:)', positiveInt('--repeat', 100))
      .option('--baseline <run-dir>', 'after the run, compare its metrics with this run folder (compare.tap in the run folder); a regression exits 1. Repeat it with runs of separate boots: the boot-to-boot noise is then measured, not assumed', collect, [] as string[]),
  )).action(async (paths: string[], o: RunFlags & LabFlags & { filter: string[]; quick: boolean }) => {
    if (o.quick && paths.length) throw inputError('give either --quick or scenario paths, not both');
    setExit(await runPaths(o.quick ? [join(projectRoot, 'scenarios', 'quick')] : paths.length ? paths : ['scenarios'], o.filter, o));
  });
}
