import { join } from 'node:path';
import { execa } from 'execa';
import { cpus } from 'node:os';
import { mkdir, realpath } from 'node:fs/promises';
import { hostArch, type Arch } from '../common/arch.js';

/** How make is invoked for every step of one build: same CC everywhere, or Kbuild rebuilds all. */
export interface Toolchain {
  /** `CC=...` value: "ccache gcc" when ccache is installed, else "gcc". */
  cc: string;
  /** `gcc --version` first line: part of the cache key. */
  compiler: string;
  env: Record<string, string>;
  jobs: number;
  /** Niceness of the compile jobs (the host is shared). */
  nice: number;
  /** The kernel's architecture when it is not x86_64 (`ARCH=arm64`). */
  arch?: Arch;
  /** `CROSS_COMPILE=` prefix when the kernel's architecture is not the host's (aarch64-linux-gnu-). */
  crossCompile?: string;
}

/** The cross compiler prefix for a kernel of `arch` built here ('' when native). Pure. */
export function crossPrefix(arch: Arch, host: Arch | undefined = hostArch()): string {
  if (arch === host) return '';
  return arch === 'arm64' ? 'aarch64-linux-gnu-' : 'x86_64-linux-gnu-';
}

export async function detectToolchain(cacheDir: string, opts: { jobs?: number; nice?: number; arch?: Arch } = {}): Promise<Toolchain> {
  const arch = opts.arch ?? 'x86_64';
  const prefix = crossPrefix(arch);
  const gcc = await execa(`${prefix}gcc`, ['--version'], { reject: false });
  const ccache = await execa('ccache', ['--version'], { reject: false });
  // Kbuild hands the compiler real paths: the base dir must be one too.
  const work = join(cacheDir, 'work');
  await mkdir(work, { recursive: true });
  const base = await realpath(work);
  return {
    cc: ccache.exitCode === 0 ? `ccache ${prefix}gcc` : `${prefix}gcc`,
    // The builder's name is part of the kernel (its banner): builds from before it was fixed are not reused.
    compiler: `${gcc.exitCode === 0 ? String(gcc.stdout).split('\n')[0]! : `${prefix}gcc: not found`} (kbuild ramdax@ramdax-harness)`,
    ...(arch === 'x86_64' ? {} : { arch }),
    ...(prefix ? { crossCompile: prefix } : {}),
    // Depend mode: a miss costs what gcc costs (default mode runs the preprocessor a second
    // time: measured +35 % CPU per kernel file here); hits still work from -MMD's list.
    // Base dir + no hashed cwd: every working tree sits at CACHE/work/KEY/src with its object
    // folders at CACHE/work/KEY/obj/CONFIG, so a file compiled in one tree is a hit in another
    // (the user's tree, a bisect tree, Debian's source) wherever their content agrees.
    // KBUILD_BUILD_USER/HOST: the kernel's banner says who built it; a reproducer archive must not name this machine's user or host.
    env: { CCACHE_DIR: join(cacheDir, 'ccache'), CCACHE_DEPEND: '1', CCACHE_BASEDIR: base, CCACHE_NOHASHDIR: '1', KBUILD_BUILD_USER: 'ramdax', KBUILD_BUILD_HOST: 'ramdax-harness' },
    jobs: opts.jobs ?? cpus().length,
    nice: opts.nice ?? 10,
  };
}

/** argv for `make` in `srcDir` building into `objDir` (pure). */
export function makeArgs(srcDir: string, objDir: string, tc: Pick<Toolchain, 'cc' | 'arch' | 'crossCompile'>, targets: readonly string[], extra: readonly string[] = []): string[] {
  const cross = [...(tc.arch ? [`ARCH=${tc.arch}`] : []), ...(tc.crossCompile ? [`CROSS_COMPILE=${tc.crossCompile}`] : [])];
  return ['-C', srcDir, `O=${objDir}`, ...cross, `CC=${tc.cc}`, ...extra, ...targets];
}

/** The make target and the image it leaves, per architecture (pure). */
export function kernelImage(arch: Arch | undefined): { target: string; path: string } {
  return arch === 'arm64' ? { target: 'Image', path: 'arch/arm64/boot/Image' } : { target: 'bzImage', path: 'arch/x86/boot/bzImage' };
}
