import { Command, CommanderError } from 'commander';
import { describeError, HarnessError, InputError } from '../common/errors.js';
import { ExitCode, exitCodeHelp } from '../common/exit-codes.js';
import { harnessVersion } from '../common/version.js';
import { registerCompare } from './compare-command.js';
import { registerBisect } from './bisect-command.js';
import { registerKernel } from './kernel-command.js';
import { registerList } from './list-command.js';
import { registerMerge } from './merge-command.js';
import { registerHistory } from './history-command.js';
import { registerNew } from './new-command.js';
import { registerReport } from './report-command.js';
import { registerRun } from './run-command.js';
import { registerRepro } from './repro-command.js';
import { registerSetup } from './setup-command.js';
import { registerValidate } from './validate-command.js';
import { registerCoverage } from './coverage-command.js';

/** Build the CLI; every command returns its exit status instead of calling process.exit. */
export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('ramdax-harness')
    .description('Boot Linux kernels in QEMU with ramdax carve-outs, drive ndctl/mkfs/DAX checks over SSH, report TAP')
    .version(harnessVersion(), '-V, --version', 'print the harness version')
    .addHelpText('after', `\n${exitCodeHelp}`)
    .exitOverride()
    .showHelpAfterError();
  const commands = [registerSetup, registerRun, registerList, registerValidate, registerRepro, registerKernel, registerBisect, registerCompare, registerReport, registerNew, registerCoverage, registerMerge, registerHistory];
  for (const register of commands) register(program, setExit);
  for (const c of program.commands) {
    c.addHelpText('after', `\n${exitCodeHelp}`).exitOverride();
    for (const sub of c.commands) sub.addHelpText('after', `\n${exitCodeHelp}`).exitOverride();
  }
  return program;
}

export async function main(argv: string[]): Promise<number> {
  let code: number = ExitCode.ok;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    return reportError(err);
  }
}

export function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // --help and --version end here with exit code 0.
    return err.exitCode === 0 ? ExitCode.ok : ExitCode.badInput;
  }
  if (err instanceof InputError) {
    process.stderr.write(`${err.message}\n`);
    return ExitCode.badInput;
  }
  if (err instanceof HarnessError) {
    process.stderr.write(`ramdax-harness: ${describeError(err)}\n`);
    if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
    return err.exitCode;
  }
  process.stderr.write(`ramdax-harness: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return ExitCode.infra;
}
