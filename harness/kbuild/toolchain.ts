import { join } from 'node:path';
import { execa } from 'execa';
import { cpus } from 'node:os';
import { mkdir, realpath } from 'node:fs/promises';

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
}

export async function detectToolchain(cacheDir: string, opts: { jobs?: number; nice?: number } = {}): Promise<Toolchain> {
  const gcc = await execa('gcc', ['--version'], { reject: false });
  const ccache = await execa('ccache', ['--version'], { reject: false });
  // Kbuild hands the compiler real paths: the base dir must be one too.
  const work = join(cacheDir, 'work');
  await mkdir(work, { recursive: true });
  const base = await realpath(work);
  return {
    cc: ccache.exitCode === 0 ? 'ccache gcc' : 'gcc',
    // The builder's name is part of the kernel (its banner): builds from before it was fixed are not reused.
    compiler: `${gcc.exitCode === 0 ? String(gcc.stdout).split('\n')[0]! : 'gcc: not found'} (kbuild ramdax@ramdax-harness)`,
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
export function makeArgs(srcDir: string, objDir: string, tc: Pick<Toolchain, 'cc'>, targets: readonly string[], extra: readonly string[] = []): string[] {
  return ['-C', srcDir, `O=${objDir}`, `CC=${tc.cc}`, ...extra, ...targets];
}
