import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { infraError } from '../common/errors.js';
import { host } from '../common/exec.js';
import { exists } from '../common/fs.js';
import type { Logger } from '../common/log.js';
import { PrivateApt } from '../setup/apt.js';

const DAY = 24 * 3_600_000;

export interface UnpackedSource {
  /** The unpacked kernel tree (top-level Makefile inside). */
  dir: string;
  package: string;
  version: string;
}

/**
 * Debian's `linux-source-SERIES` (the candidate version of the private apt),
 * unpacked once per package version under CACHE/sources/PKG_VERSION/tree.
 */
export async function ensureDebianSource(
  series: string,
  suites: readonly string[],
  cacheDir: string,
  log: Logger,
  opts: { refresh?: boolean } = {},
): Promise<UnpackedSource> {
  const pkg = `linux-source-${series}`;
  const apt = new PrivateApt(cacheDir, suites);
  await apt.update(log, opts.refresh ? 0 : DAY);
  const version = await candidateVersion(apt, pkg);
  const root = join(cacheDir, 'sources', `${pkg}_${version}`);
  const tree = join(root, 'tree');
  const marker = join(root, 'unpacked');
  if (await exists(marker)) return { dir: tree, package: pkg, version };

  log.step(`source: fetching ${pkg}=${version} from ${suites.join(', ')}`);
  const debs = join(cacheDir, 'debs');
  await apt.download([`${pkg}=${version}`], debs);
  const deb = (await readdir(debs)).find((f) => f.startsWith(`${pkg}_${version.replace(/^\d+:/, '')}_`) && f.endsWith('.deb'));
  if (!deb) throw infraError(`apt-get download gave no .deb for ${pkg}=${version} in ${debs}`);
  const work = join(root, 'deb');
  await rm(work, { recursive: true, force: true });
  await rm(`${tree}.partial`, { recursive: true, force: true });
  await mkdir(`${tree}.partial`, { recursive: true });
  await host('dpkg-deb', ['-x', join(debs, deb), work]);
  const tarballs = (await readdir(join(work, 'usr/src'))).filter((f) => /^linux-source-.*\.tar\.(xz|bz2|gz)$/.test(f));
  if (tarballs.length !== 1) throw infraError(`${deb}: expected one linux-source tarball under /usr/src, found ${tarballs.join(', ') || 'none'}`);
  log.info(`  unpacking ${tarballs[0]} into ${tree}`);
  await host('tar', ['-x', '-f', join(work, 'usr/src', tarballs[0]!), '-C', `${tree}.partial`, '--strip-components=1']);
  await rm(tree, { recursive: true, force: true });
  await rename(`${tree}.partial`, tree);
  await rm(work, { recursive: true, force: true });
  await writeFile(marker, `${pkg}=${version}\n`);
  return { dir: tree, package: pkg, version };
}

async function candidateVersion(apt: PrivateApt, pkg: string): Promise<string> {
  const { stdout } = await host('apt-cache', [...apt.options, 'show', '--no-all-versions', pkg]).catch((err: unknown) => {
    throw infraError(`${pkg} is not offered by ${apt.suites.join(', ')}`, err, 'check source.tree.debian.series and suites in the kernel definition');
  });
  const v = /^Version: (\S+)$/m.exec(stdout)?.[1];
  if (!v) throw infraError(`apt-cache show ${pkg}: no Version field`);
  return v;
}
