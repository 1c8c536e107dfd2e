import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { infraError } from '../common/errors.js';
import { writeFileAtomic } from '../common/fs.js';
import type { KernelCapabilities } from './capabilities.js';
import type { Stamps } from './verify.js';
import type { Arch } from '../common/arch.js';

/** How a kernel offers the ramdax driver. */
export type DriverAvailability = 'builtin' | 'module' | 'absent';

/** What `setup` leaves for a kernel, recorded in every result. */
export interface KernelArtifact {
  name: string;
  release: string;
  source: string;
  packages: { name: string; version: string }[];
  dir: string;
  vmlinuz: string;
  initrd?: string;
  modulesDisk?: string;
  config?: string;
  sha256: Record<string, string>;
  ramdax: DriverAvailability;
  createdAt: string;
  /** debian / local / source (manifests written before kinds existed are Debian's). */
  kind?: 'debian' | 'local' | 'source';
  /** What the kernel offers and how that was found out (config, modules list, boot probe). */
  capabilities?: KernelCapabilities;
  /** Size and mtime of each checked file when its sha256 last matched (setup/verify.ts). */
  stamps?: Stamps;
  /**
   * Debug symbols for file:line in kernel traces: source builds keep their
   * vmlinux; a Debian kernel gets them from its -dbg package (`--symbols`).
   */
  debug?: { vmlinux: string; systemMap?: string; modulesDir?: string; srcRoot?: string };
  /** Set for kernels made from the command line (`--kernel PATH`, `--patch`): what was asked. */
  adhoc?: { ref: string; kind: 'bzimage' | 'tree' | 'patched' | 'coverage' };
  /** Manifests without it are x86_64. */
  arch?: Arch;
}

export interface ImageArtifact {
  name: string;
  dir: string;
  rootfs: string;
  sha256: string;
  suite: string;
  packages: string[];
  createdAt: string;
  /** Size and mtime of the root image when its sha256 last matched (setup/verify.ts). */
  stamps?: Stamps;
  /** Manifests without it are x86_64. */
  arch?: Arch;
}

export const kernelRoot = (cacheDir: string, name: string) => join(cacheDir, 'kernels', name);

/** The setup command that makes an architecture's default kernel and image. */
export const setupCommand = (arch: Arch = 'x86_64') => (arch === 'x86_64' ? 'npx ramdax-harness setup' : `npx ramdax-harness setup --arch ${arch}`);

/** The kernel `setup` last resolved for `name`, or an infra error telling the user to run setup. */
export async function currentKernel(cacheDir: string, name: string, arch?: Arch): Promise<KernelArtifact> {
  return readManifest<KernelArtifact>(join(kernelRoot(cacheDir, name), 'current.json'), `kernel '${name}'`, arch);
}

export async function currentImage(cacheDir: string, name: string, arch?: Arch): Promise<ImageArtifact> {
  return readManifest<ImageArtifact>(join(cacheDir, 'images', `${name}.current.json`), `image '${name}'`, arch);
}

async function readManifest<T>(path: string, what: string, arch?: Arch): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (err) {
    throw infraError(`${what} is not set up (no ${path})`, err, `run \`${setupCommand(arch)}\` first`);
  }
}

export async function writeManifest(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** ramdax availability from a kernel .config. */
export function ramdaxFromConfig(config: string): DriverAvailability {
  const m = /^CONFIG_RAMDAX=([ym])$/m.exec(config);
  if (!m) return 'absent';
  return m[1] === 'y' ? 'builtin' : 'module';
}

/** What a result records of its kernel beyond name, release and hashes: how a built kernel was made, and whether it came from the command line. */
export function kernelIdentity(k: KernelArtifact): { build?: { revision: string; patches: { file: string; index?: number; subject?: string; sha256: string; patchId?: string }[] }; adhoc?: KernelArtifact['adhoc'] } {
  const b = (k as KernelArtifact & { build?: { revision?: string; patches?: { file: string; sha256: string }[] } }).build;
  return { ...(b?.revision ? { build: { revision: b.revision, patches: b.patches ?? [] } } : {}), ...(k.adhoc ? { adhoc: k.adhoc } : {}) };
}
