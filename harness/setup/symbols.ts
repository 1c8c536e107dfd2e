/**
 * Debug symbols of a kernel: a source build's own vmlinux, or the Debian
 * `linux-image-RELEASE-dbg` package fetched on request (`--symbols`). The
 * -dbg package is large (7.2.13+deb14-amd64: 1,185,304,580 bytes to
 * download, 7.4 GiB installed); only the vmlinux and the debug .ko files of
 * the storage drivers the harness exercises are unpacked from it.
 */
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCatalog } from '../catalog/catalog.js';
import { infraError } from '../common/errors.js';
import { host } from '../common/exec.js';
import { exists } from '../common/fs.js';
import type { Logger } from '../common/log.js';
import type { DebugSymbols } from '../triage/symbolize.js';
import { PrivateApt } from './apt.js';
import { kernelRoot, type KernelArtifact } from './artifacts.js';

/** Module folders whose debug .ko files are unpacked from a -dbg package (the rest stays packed). */
export const DBG_MODULE_DIRS = ['drivers/nvdimm', 'drivers/dax', 'drivers/acpi/nfit', 'fs/ext4', 'fs/xfs', 'fs/jbd2', 'mm', 'lib'];

export const dbgPackage = (release: string) => `linux-image-${release}-dbg`;
const dbgDir = (cacheDir: string, k: KernelArtifact) => join(kernelRoot(cacheDir, k.name), `${k.release}-dbg`);

/** The symbols this machine has for a kernel, without fetching anything. */
export async function localSymbols(cacheDir: string, k: KernelArtifact): Promise<DebugSymbols | undefined> {
  if (k.debug?.vmlinux && (await exists(k.debug.vmlinux))) return { vmlinux: k.debug.vmlinux, modulesDir: k.debug.modulesDir, srcRoot: k.debug.srcRoot };
  // A source build made before builds kept their vmlinux: its object folder may still hold it (the banner check tells).
  const build = (k as { build?: { objDir?: string } }).build;
  if (build?.objDir && (await exists(join(build.objDir, 'vmlinux')))) return { vmlinux: join(build.objDir, 'vmlinux') };
  // The package's /usr/lib/debug/boot/vmlinux-RELEASE is a symlink to this file.
  const modulesDir = join(dbgDir(cacheDir, k), 'usr/lib/debug/lib/modules', k.release);
  if (await exists(join(modulesDir, 'vmlinux'))) return { vmlinux: join(modulesDir, 'vmlinux'), modulesDir };
  return undefined;
}

/** Local symbols, or for a Debian kernel the -dbg package downloaded and unpacked now. */
export async function ensureSymbols(cacheDir: string, k: KernelArtifact, log: Logger): Promise<DebugSymbols | undefined> {
  const have = await localSymbols(cacheDir, k);
  if (have || k.kind !== 'debian') return have;
  const def = (await loadCatalog().catch(() => undefined))?.kernels.get(k.name);
  const apt = new PrivateApt(cacheDir, def?.debian?.suites ?? ['sid']);
  await apt.update(log, 24 * 3_600_000);
  const name = dbgPackage(k.release);
  const version = k.packages[0]?.version;
  if (!(await apt.packageNames(name)).includes(name)) throw infraError(`no ${name} is offered by ${apt.suites.join(', ')}: no debug symbols for ${k.release}`);
  const debs = join(cacheDir, 'debs');
  log.step(`symbols: downloading ${name}${version ? `=${version}` : ''} (Debian's debug vmlinux: about 1.2 GB for 7.2.13)`);
  await apt.download([version ? `${name}=${version}` : name], debs);
  const deb = (await readdir(debs)).filter((f) => f.startsWith(`${name}_`) && f.endsWith('.deb')).sort().at(-1);
  if (!deb) throw infraError(`apt-get download gave no .deb for ${name} in ${debs}`);
  const dir = dbgDir(cacheDir, k);
  const work = `${dir}.partial`;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  log.step(`symbols: unpacking the vmlinux and ${DBG_MODULE_DIRS.join(', ')} debug modules from ${deb}`);
  const members = [`./usr/lib/debug/lib/modules/${k.release}/vmlinux`, ...DBG_MODULE_DIRS.map((d) => `./usr/lib/debug/lib/modules/${k.release}/kernel/${d}`)];
  // The whole 7.4 GiB tree is decompressed to pick these out: minutes of xz on a small host.
  await host('sh', ['-c', 'deb="$1"; dir="$2"; shift 2; dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" "$@" 2>/dev/null; [ -s "$dir/$1" ]', 'sh', join(debs, deb), work, ...members]);
  await rm(dir, { recursive: true, force: true });
  await rename(work, dir);
  // The .deb itself is not kept: 1.2 GB for a file that is unpacked.
  await rm(join(debs, deb), { force: true });
  return localSymbols(cacheDir, k);
}
