import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { host } from '../common/exec.js';
import type { Logger } from '../common/log.js';

export const DEFAULT_MIRROR = process.env.RAMDAX_HARNESS_MIRROR ?? 'http://deb.debian.org/debian';

/**
 * apt with the harness's own sources file, lists and cache under the cache
 * folder: the host's apt configuration is never touched.
 */
export class PrivateApt {
  readonly dir: string;
  constructor(
    cacheDir: string,
    readonly suites: readonly string[],
    readonly mirror = DEFAULT_MIRROR,
  ) {
    this.dir = join(cacheDir, 'apt', suites.join('+'));
  }

  get options(): string[] {
    return [
      '-o', `Dir::Etc::sourcelist=${join(this.dir, 'sources.list')}`,
      '-o', 'Dir::Etc::sourceparts=-',
      '-o', `Dir::State::Lists=${join(this.dir, 'lists')}`,
      '-o', `Dir::Cache=${join(this.dir, 'cache')}`,
      '-o', 'APT::Get::List-Cleanup=0',
      '-o', 'Debug::NoLocking=1',
    ];
  }

  /** Refresh the package lists when they are missing or older than `maxAgeMs`. */
  async update(log: Logger, maxAgeMs: number): Promise<'fresh' | 'updated'> {
    const stamp = join(this.dir, 'updated');
    const age = await stat(stamp).then((s) => Date.now() - s.mtimeMs).catch(() => Infinity);
    if (age < maxAgeMs) return 'fresh';
    await mkdir(join(this.dir, 'lists', 'partial'), { recursive: true });
    await mkdir(join(this.dir, 'cache', 'archives', 'partial'), { recursive: true });
    await writeFile(join(this.dir, 'sources.list'), this.suites.map((s) => `deb ${this.mirror} ${s} main\n`).join(''));
    log.step(`apt: updating package lists for ${this.suites.join(', ')} (private state in ${this.dir})`);
    await host('apt-get', [...this.options, 'update']);
    await writeFile(stamp, new Date().toISOString());
    return 'updated';
  }

  async packageNames(prefix: string): Promise<string[]> {
    const { stdout } = await host('apt-cache', [...this.options, 'pkgnames', prefix]);
    return stdout.split('\n').map((s) => s.trim()).filter(Boolean);
  }

  /** Download .deb files into `dir`; returns nothing, the files are named by apt. */
  async download(names: string[], dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    await host('apt-get', [...this.options, 'download', ...names], { cwd: dir });
  }
}
