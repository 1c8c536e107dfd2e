import type { Command } from 'commander';
import { ExitCode } from '../common/exit-codes.js';
import { loadCases } from './load-cases.js';

export function registerValidate(program: Command, setExit: (code: number) => void): void {
  program
    .command('validate')
    .description('check scenario files (and the kernel/image definitions they name) without booting, folders with their subfolders; problems print as file:line:col: message, exit 2')
    .argument('[paths...]', 'scenario files or folders', ['scenarios'])
    .action(async (paths: string[]) => {
      const cases = await loadCases(paths, [], [], { recursive: true });
      process.stdout.write(`ok: ${cases.length} case(s) from ${new Set(cases.map((c) => c.scenario.file)).size} file(s)\n`);
      setExit(ExitCode.ok);
    });
}
