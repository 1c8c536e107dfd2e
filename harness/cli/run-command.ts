import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { stderrLogger } from '../common/log.js';
import { defaultResultsDir, projectRoot } from '../common/paths.js';
import { runCases } from '../runner/run.js';
import { keyPaths } from '../setup/keys.js';
import { loadCases } from './load-cases.js';
import { cacheOption } from './options.js';

export function registerRun(program: Command, setExit: (code: number) => void): void {
  program
    .command('run')
    .description('boot one VM per case, run its steps over SSH, stream TAP to stdout; results, console and dmesg go to results/<run-id>/')
    .argument('[paths...]', 'scenario files or folders', ['scenarios'])
    .addOption(cacheOption())
    .option('--filter <glob...>', 'run only cases whose id matches a glob', [])
    .option('-j, --jobs <n>', 'VMs to run at once', (v) => Number.parseInt(v, 10), 1)
    .option('--results <dir>', 'where run folders are written', defaultResultsDir())
    .option('--qemu <binary>', 'QEMU system emulator', 'qemu-system-x86_64')
    .action(async (paths: string[], o: { cache: string; filter: string[]; jobs: number; results: string; qemu: string }) => {
      const cases = await loadCases(paths, o.filter);
      const version = JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8')).version as string;
      const { exitCode } = await runCases({
        cases,
        resultsRoot: o.results,
        cacheDir: o.cache,
        keys: keyPaths(o.cache),
        jobs: o.jobs,
        qemuBinary: o.qemu,
        log: stderrLogger(),
        version,
      });
      setExit(exitCode);
    });
}
