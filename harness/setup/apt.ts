import { access, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { infraError, inputError } from '../common/errors.js';
import { host } from '../common/exec.js';
import type { Logger } from '../common/log.js';
import { debArch, hostArch, type Arch } from '../common/arch.js';

export const DEBIAN_MIRROR = 'http://deb.debian.org/debian';

/** The Debian archive's own keys (package debian-archive-keyring): the only ones the private apt trusts. */
export const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/**
 * A mirror URL that can go into a sources.list line and nothing more: http or
 * https, a host, no white space, no `[options]` (`[trusted=yes]` would turn
 * signature checks off), no query or fragment, no control characters.
 * Returns the problem, or undefined when it is fine (pure).
 */
export function mirrorProblem(url: string): string | undefined {
  if (/[\s\[\]]/.test(url) || /[\u0000-\u001f\u007f]/.test(url)) return 'white space, brackets or control characters: a mirror is one URL, apt options are not accepted';
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `scheme ${u.protocol} (only http: and https:; apt checks signatures, not the transport)`;
  if (!u.hostname) return 'no host';
  if (u.search || u.hash) return 'a query or fragment';
  return undefined;
}

/** The Debian mirror: $RAMDAX_HARNESS_MIRROR when set (validated: bad input otherwise), else deb.debian.org. */
export function debianMirror(env: NodeJS.ProcessEnv = process.env): string {
  const url = env.RAMDAX_HARNESS_MIRROR;
  if (url === undefined || url === '') return DEBIAN_MIRROR;
  const why = mirrorProblem(url);
  if (why) throw inputError(`RAMDAX_HARNESS_MIRROR=${JSON.stringify(url)}: ${why}`, `e.g. RAMDAX_HARNESS_MIRROR=${DEBIAN_MIRROR}`);
  return url.replace(/\/+$/, '');
}

/** One sources.list line, signed-by the Debian archive keyring (pure). */
export function sourcesLine(mirror: string, suite: string, keyring = DEBIAN_KEYRING): string {
  return `deb [signed-by=${keyring}] ${mirror} ${suite} main\n`;
}

const SUITE = /^[a-z0-9][a-z0-9.+-]*$/;

/**
 * apt with the harness's own sources file, lists and cache under the cache
 * folder: the host's apt configuration is never touched. For a foreign
 * architecture (arm64 packages on an x86_64 host) it has its own state
 * folder and lists that architecture's packages only.
 */
export class PrivateApt {
  readonly dir: string;
  readonly mirror: string;

  constructor(
    cacheDir: string,
    readonly suites: readonly string[],
    mirror?: string,
    readonly arch: Arch = 'x86_64',
  ) {
    this.mirror = mirror ?? debianMirror();
    for (const s of suites) if (!SUITE.test(s)) throw inputError(`apt suite '${s}' is not a Debian suite name`);
    this.dir = join(cacheDir, 'apt', `${suites.join('+')}${this.foreign ? `@${debArch(arch)}` : ''}`);
  }

  /** Packages of another architecture than the host's. */
  get foreign(): boolean {
    return this.arch !== (hostArch() ?? 'x86_64');
  }

  get options(): string[] {
    return [
      ...(this.foreign ? ['-o', `APT::Architecture=${debArch(this.arch)}`, '-o', `APT::Architectures::=${debArch(this.arch)}`] : []),
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
    await access(DEBIAN_KEYRING).catch((err) => {
      throw infraError(`the Debian archive keyring ${DEBIAN_KEYRING} is missing: apt could not check what it downloads`, err, 'install it: apt-get install debian-archive-keyring (`ramdax-harness setup` does)');
    });
    await writeFile(join(this.dir, 'sources.list'), this.suites.map((s) => sourcesLine(this.mirror, s)).join(''));
    log.step(`apt: updating package lists for ${this.suites.join(', ')} (private state in ${this.dir})`);
    await host('apt-get', [...this.options, 'update']);
    await writeFile(stamp, new Date().toISOString());
    return 'updated';
  }

  async packageNames(prefix: string): Promise<string[]> {
    const { stdout } = await host('apt-cache', [...this.options, 'pkgnames', prefix]);
    return stdout.split('\n').map((s) => s.trim()).filter(Boolean);
  }

  /** The version apt would download of a package (its candidate), or undefined when none is offered. */
  async candidate(name: string): Promise<string | undefined> {
    const { stdout } = await host('apt-cache', [...this.options, 'show', '--no-all-versions', name]).catch(() => ({ stdout: '' }));
    return /^Version: (\S+)$/m.exec(stdout)?.[1];
  }

  /** Download .deb files into `dir`; returns nothing, the files are named by apt. */
  async download(names: string[], dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    await host('apt-get', [...this.options, 'download', ...names], { cwd: dir });
  }
}
