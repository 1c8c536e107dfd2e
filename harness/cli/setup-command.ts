import type { Command } from 'commander';
import { loadCatalog } from '../catalog/catalog.js';
import { ExitCode } from '../common/exit-codes.js';
import { stderrLogger } from '../common/log.js';
import { setup } from '../setup/setup.js';
import { cacheOption } from './options.js';
import { startVmLifecycle } from '../vm/lifecycle.js';
import { ARCHES, defaultImageFor, defaultKernelFor } from '../common/arch.js';
import { inputError } from '../common/errors.js';

export const DEFAULT_KERNELS = ['debian-7.2'];
export const DEFAULT_IMAGES = ['default'];

export function registerSetup(program: Command, setExit: (code: number) => void): void {
  program
    .command('setup')
    .description('install host packages, fetch kernels, build the guest image, initramfs and SSH keys (all cached)')
    .addOption(cacheOption())
    .option('--kernel <name...>', 'kernel definitions to set up (kernels/*.yaml: debian: fetched, local: imported, source: built)', DEFAULT_KERNELS)
    .option('--image <name...>', 'image definitions to build (images/*.yaml)', DEFAULT_IMAGES)
    .option('--arch <arch...>', `set up the default kernel and image of these guest architectures (${ARCHES.join(', ')}; x86_64: debian-7.2 + default, arm64: debian-7.2-arm64 + default-arm64) instead of --kernel/--image's defaults`)
    .option('--refresh', 'refresh the private apt lists even if they are less than a day old', false)
    .option('--no-host-packages', 'do not check or install host packages with apt')
    .option('--verify', 'hash every cached kernel and image file in full (by default only files whose size or mtime changed)', false)
    .action(async (o: { cache: string; kernel: string[]; image: string[]; refresh: boolean; hostPackages: boolean; verify: boolean; arch?: string[] }, cmd: Command) => {
      const log = stderrLogger();
      const catalog = await loadCatalog();
      if (o.arch) {
        const bad = o.arch.find((a) => !(ARCHES as readonly string[]).includes(a));
        if (bad) throw inputError(`--arch ${bad}: unknown architecture (known: ${ARCHES.join(', ')})`);
        const arches = o.arch as (typeof ARCHES)[number][];
        // --arch picks the defaults; an explicit --kernel/--image still wins.
        if (cmd.getOptionValueSource('kernel') === 'default') o.kernel = arches.map(defaultKernelFor);
        if (cmd.getOptionValueSource('image') === 'default') o.image = arches.map(defaultImageFor);
      }
      const started = Date.now();
      // setup may boot a kernel once to probe it: same lifetime rules as a run.
      await startVmLifecycle(o.cache, log);
      const report = await setup(
        catalog,
        { cacheDir: o.cache, kernels: o.kernel, images: o.image, refresh: o.refresh, skipHostPackages: !o.hostPackages, verify: o.verify },
        log,
      );
      for (const l of report.lines) process.stdout.write(`${l}\n`);
      process.stdout.write(
        report.didWork
          ? `setup done in ${((Date.now() - started) / 1000).toFixed(1)}s (cache ${o.cache})\n`
          : `setup: nothing to do, everything is cached in ${o.cache}\n`,
      );
      setExit(ExitCode.ok);
    });
}
