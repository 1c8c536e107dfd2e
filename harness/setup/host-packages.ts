import { execa } from 'execa';
import { infraError } from '../common/errors.js';
import { host } from '../common/exec.js';
import type { Logger } from '../common/log.js';
import { hostArch, type Arch } from '../common/arch.js';

/** Debian packages the host needs; binaries checked first so a non-Debian host with them still works. */
export const HOST_PACKAGES = [
  'qemu-system-x86',
  'qemu-utils',
  'mmdebstrap',
  'openssh-client',
  'busybox-static',
  'kmod',
  'cpio',
  'xz-utils',
  'e2fsprogs',
  'gzip',
  // setpriv (QEMU's parent-death signal); essential on Debian, listed so a stripped host is caught.
  'util-linux',
  // The keys the private apt checks the Debian archive with (signed-by).
  'debian-archive-keyring',
  // addr2line and nm: file:line in kernel traces (triage/symbolize.ts).
  'binutils',
  // Renders report.html headless in the tests (screenshot and DOM checks).
  'chromium',
] as const;

/**
 * What guests of another architecture need on top (installed only when a
 * kernel or image of that architecture is set up): arm64 — QEMU's arm
 * emulators (virt machine), dtc (the guest's device tree), qemu-user with
 * binfmt registration and arch-test (mmdebstrap's foreign bootstrap).
 */
export const ARCH_HOST_PACKAGES: Record<Arch, readonly string[]> = {
  x86_64: [],
  arm64: ['qemu-system-arm', 'device-tree-compiler', 'qemu-user-static', 'binfmt-support', 'arch-test'],
};

/**
 * What a kernel build from source needs beyond the host packages (a fresh
 * Debian 12 has gcc, make and bc, but `make tinyconfig` stops at
 * `flex: not found`). Each package with one thing that proves it is there:
 * a binary on PATH or a header, so a non-Debian host that has them passes.
 */
export const BUILD_PACKAGES: readonly { pkg: string; probe: { bin: string } | { header: string } }[] = [
  { pkg: 'gcc', probe: { bin: 'gcc' } },
  { pkg: 'make', probe: { bin: 'make' } },
  { pkg: 'bc', probe: { bin: 'bc' } },
  { pkg: 'flex', probe: { bin: 'flex' } },
  { pkg: 'bison', probe: { bin: 'bison' } },
  { pkg: 'libelf-dev', probe: { header: 'gelf.h' } },
  { pkg: 'libssl-dev', probe: { header: 'openssl/opensslv.h' } },
  { pkg: 'ccache', probe: { bin: 'ccache' } },
  { pkg: 'cpio', probe: { bin: 'cpio' } },
  { pkg: 'xz-utils', probe: { bin: 'xz' } },
  { pkg: 'kmod', probe: { bin: 'depmod' } },
  { pkg: 'e2fsprogs', probe: { bin: 'mkfs.ext4' } },
];

async function installed(pkg: string): Promise<boolean> {
  try {
    const { stdout } = await host('dpkg-query', ['-W', '-f=${Status}', pkg]);
    return stdout.includes('install ok installed');
  } catch {
    return false;
  }
}

export async function onPath(bin: string): Promise<boolean> {
  const r = await execa('sh', ['-c', 'command -v "$1"', 'sh', bin], { reject: false });
  return r.exitCode === 0;
}

/** True when the C compiler finds `header` (what the kernel's own build will do). */
async function hasHeader(header: string): Promise<boolean> {
  const r = await execa('gcc', ['-E', '-x', 'c', '-'], { input: `#include <${header}>\n`, reject: false });
  return r.exitCode === 0;
}

/** What cross-building a kernel of another architecture adds (on an x86_64 host). */
export const CROSS_BUILD_PACKAGES: Record<Arch, readonly { pkg: string; probe: { bin: string } }[]> = {
  x86_64: [],
  arm64: [{ pkg: 'gcc-aarch64-linux-gnu', probe: { bin: 'aarch64-linux-gnu-gcc' } }],
};

/** How a build package is found (injectable for tests). */
export type BuildProbe = (probe: (typeof BUILD_PACKAGES)[number]['probe']) => Promise<boolean>;

const realProbe: BuildProbe = (probe) => ('bin' in probe ? onPath(probe.bin) : hasHeader(probe.header));

/** The build packages whose probe fails, in the list's order (with the cross compiler when `arch` is not the host's). */
export async function missingBuildPackages(probe: BuildProbe = realProbe, arch: Arch = 'x86_64'): Promise<string[]> {
  const missing: string[] = [];
  const cross = arch === (hostArch() ?? 'x86_64') ? [] : CROSS_BUILD_PACKAGES[arch];
  for (const { pkg, probe: p } of [...BUILD_PACKAGES, ...cross]) if (!(await probe(p))) missing.push(pkg);
  return missing;
}

export async function aptInstall(log: Logger, packages: string[]): Promise<void> {
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  await host('apt-get', ['update'], { env });
  await host('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { env });
  log.info(`apt-get installed ${packages.join(' ')}`);
}

/** Can this process install Debian packages? (root and apt-get present) */
export async function canApt(): Promise<boolean> {
  return process.getuid?.() === 0 && (await onPath('apt-get'));
}

export async function ensureHostPackages(log: Logger, arches: readonly Arch[] = ['x86_64']): Promise<{ installed: string[] }> {
  const wanted = [...HOST_PACKAGES, ...new Set(arches.flatMap((a) => ARCH_HOST_PACKAGES[a]))];
  const missing: string[] = [];
  for (const pkg of wanted) if (!(await installed(pkg))) missing.push(pkg);
  if (missing.length === 0) {
    log.info(`host packages: all ${wanted.length} present`);
    return { installed: [] };
  }
  log.step(`host packages: installing ${missing.join(' ')} with apt-get`);
  await aptInstall(log, missing);
  return { installed: missing };
}

/** What ensureBuildTools uses to look and install; the real host unless a test says otherwise. */
export interface BuildToolsHost {
  probe?: BuildProbe;
  /** May this process install Debian packages? (root with apt-get, and not RAMDAX_HARNESS_NO_APT=1) */
  canApt?: () => Promise<boolean>;
  installer?: (log: Logger, packages: string[]) => Promise<void>;
}

/**
 * Make sure a kernel can be built from source here: install what is missing
 * with apt (root) or fail at once (exit 3) naming every missing package,
 * before any tree is unpacked or configured.
 */
export async function ensureBuildTools(log: Logger, opts: { install?: boolean; arch?: Arch } & BuildToolsHost = {}): Promise<{ installed: string[] }> {
  const probe = opts.probe ?? realProbe;
  const missing = await missingBuildPackages(probe, opts.arch);
  if (missing.length === 0) return { installed: [] };
  const mayApt = opts.install !== false && process.env.RAMDAX_HARNESS_NO_APT !== '1' && (await (opts.canApt ?? canApt)());
  if (!mayApt) {
    throw infraError(
      `building a kernel needs ${missing.join(', ')}, which this host lacks`,
      undefined,
      `install them as root: apt-get install ${missing.join(' ')} (the harness does this itself when run as root with apt-get)`,
    );
  }
  log.step(`kernel build tools: installing ${missing.join(' ')} with apt-get`);
  await (opts.installer ?? aptInstall)(log, missing);
  const still = await missingBuildPackages(probe, opts.arch);
  if (still.length) throw infraError(`kernel build tools still missing after apt-get install: ${still.join(', ')}`);
  return { installed: missing };
}
