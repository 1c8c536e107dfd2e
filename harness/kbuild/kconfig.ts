import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HarnessError } from '../common/errors.js';
import { host } from '../common/exec.js';
import type { Logger } from '../common/log.js';
import { describeDropped, droppedRequests, parseConfig, parseFragment, type ConfigRequest } from './kconfig-check.js';
import { makeArgs, type Toolchain } from './toolchain.js';

export interface Fragment {
  name: string;
  path: string;
  content: string;
}

/**
 * Resolve the .config in `objDir`: base (tinyconfig, defconfig or a file),
 * fragments merged in order with merge_config.sh -m, then olddefconfig.
 * Every symbol a fragment asks for must come out as asked: a dropped one is
 * an error that names the fragment line (usually a missing dependency).
 */
export async function resolveConfig(
  o: { srcDir: string; objDir: string; base: string; fragments: readonly Fragment[]; tc: Toolchain; kernel: string },
  log: Logger,
): Promise<string> {
  await mkdir(o.objDir, { recursive: true });
  const make = (targets: string[]) => host('make', makeArgs(o.srcDir, o.objDir, o.tc, targets, ['-s']), { env: o.tc.env });
  const dotConfig = join(o.objDir, '.config');
  log.info(`  config: ${o.base}${o.fragments.length ? ` + ${o.fragments.map((f) => f.name).join(' + ')}` : ''}`);
  if (o.base === 'tinyconfig' || o.base === 'defconfig') await make([o.base]);
  else await copyFile(o.base, dotConfig);
  if (o.fragments.length) {
    await host(join(o.srcDir, 'scripts/kconfig/merge_config.sh'), ['-m', '-O', o.objDir, dotConfig, ...o.fragments.map((f) => f.path)], {
      cwd: o.srcDir,
    });
  }
  await make(['olddefconfig']);
  const config = await readFile(dotConfig, 'utf8');
  const requests: ConfigRequest[] = o.fragments.flatMap((f) => parseFragment(f.content, f.path));
  const dropped = droppedRequests(requests, parseConfig(config));
  if (dropped.length) {
    throw new HarnessError(
      'infra',
      `kernel '${o.kernel}': Kconfig did not keep ${dropped.length} requested option(s):\n${dropped.map((d) => `  ${describeDropped(d)}`).join('\n')}`,
      { hint: `see ${dotConfig}; add the missing dependencies to the fragment (make O=${o.objDir} menuconfig, then search with /)` },
    );
  }
  return config;
}
