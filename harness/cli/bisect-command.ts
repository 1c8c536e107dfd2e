import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { HarnessError, InputError, inputError } from '../common/errors.js';
import { ExitCode } from '../common/exit-codes.js';
import { harnessVersion } from '../common/version.js';
import { stderrLogger } from '../common/log.js';
import { defaultResultsDir } from '../common/paths.js';
import { loadCases } from './load-cases.js';
import { bisect } from '../kbuild/bisect.js';
import { bisectStep } from '../kbuild/bisect-step.js';
import { VERDICT_EXIT } from '../kbuild/bisect-verdict.js';
import { describeConfirmation } from '../kbuild/bisect-verdict.js';
import { cacheOption } from './options.js';
import type { StepDeps } from '../kbuild/bisect-step.js';

/** The harness a bisect step runs in: the same loader and runner as `run` (loaded when a step runs). */
const deps: StepDeps = { loadCases, runCases: async (o) => (await import('../runner/run.js')).runCases(o) };

interface CommonFlags {
  tree: string;
  case: string;
  kernel: string;
  scenario: string[];
  cache: string;
  results: string;
  qemu: string;
}

const collect = (v: string, prev: string[]) => [...prev, v];

function common(cmd: Command): Command {
  return cmd
    .requiredOption('--tree <path>', 'the kernel git tree to bisect (its checkout moves during the bisect and is restored after)')
    .requiredOption('--case <id>', 'the one case (as in `ramdax-harness list`) that tells good from bad')
    .option('--kernel <name>', 'a source: kernel whose base config and fragments are used to build the tree', 'source-7.2')
    .option('--scenario <path>', 'scenario file or folder holding the case (repeatable)', collect, [] as string[])
    .addOption(cacheOption())
    .option('--results <dir>', 'where run folders are written', defaultResultsDir())
    .option('--qemu <binary>', 'QEMU system emulator', 'qemu-system-x86_64');
}

function stepOptions(o: CommonFlags, v: string) {
  return {
    tree: resolve(o.tree),
    caseId: o.case,
    kernel: o.kernel,
    // Absolute: git bisect run starts each step in the tree's top folder.
    scenarios: (o.scenario.length ? o.scenario : ['scenarios']).map((p) => resolve(p)),
    cacheDir: resolve(o.cache),
    resultsRoot: resolve(o.results),
    qemuBinary: o.qemu,
    version: v,
    log: stderrLogger(),
  };
}

export function registerBisect(program: Command, setExit: (code: number) => void): void {
  common(
    program
      .command('bisect')
      .description('find the commit that makes a case fail: git bisect run in --tree, each step built (cached by revision), booted and tested; the culprit is confirmed by repeated runs')
      .requiredOption('--good <rev>', 'a revision where the case passes')
      .requiredOption('--bad <rev>', 'a revision where the case fails')
      .option('--confirm <n>', 'runs of the culprit and of its parent before naming it', (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 20) throw new InvalidArgumentError('--confirm takes a whole number from 1 to 20');
        return n;
      }, 3),
  ).action(async (o: CommonFlags & { good: string; bad: string; confirm: number }) => {
    const s = stepOptions(o, harnessVersion());
    // Bad input exits 2 before anything moves in the tree.
    const cases = await loadCases(s.scenarios, [s.caseId], [s.kernel]).catch((err: unknown) => {
      throw err instanceof HarnessError && err.kind === 'input' && !(err instanceof InputError) ? inputError(err.message.replace(/^--filter /, '--case ')) : err;
    });
    if (cases.length !== 1) throw inputError(`--case ${s.caseId} matches ${cases.length} cases (${cases.map((c) => c.id).join(', ')}): name exactly one`);
    const r = await bisect({ ...s, good: o.good, bad: o.bad, confirmRuns: o.confirm }, deps);
    process.stdout.write(`first bad commit: ${r.culprit} ${r.subject}\n${describeConfirmation(r.confirmation)}\n`);
    setExit(r.confirmed ? ExitCode.ok : ExitCode.testFailed);
  });

  common(
    program
      .command('bisect-step', { hidden: true })
      .description('one step of `bisect` (run by git bisect run): build HEAD, boot, run the case; exit 0 good, 1 bad, 125 skip'),
  ).action(async (o: CommonFlags) => {
    const r = await bisectStep(stepOptions(o, harnessVersion()), deps);
    process.stderr.write(`ramdax-harness: bisect-step: ${r.verdict} — ${r.why}\n`);
    setExit(VERDICT_EXIT[r.verdict]);
  });
}
