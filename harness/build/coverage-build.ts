import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { host } from '../common/exec.js';
import { exists } from '../common/fs.js';
import type { Logger } from '../common/log.js';
import { kernelsDir } from '../common/paths.js';
import type { Fragment } from './kconfig.js';

/**
 * What `coverage: true` (or `--coverage`) adds to a source kernel: gcov for
 * drivers/nvdimm and drivers/dax only (GCOV_KERNEL without
 * GCOV_PROFILE_ALL, plus a Makefile patch setting GCOV_PROFILE := y in those
 * two folders) and fault injection (failslab, fail_page_alloc, fail-nth) for
 * the error paths. Always taken from the harness's own kernels/ folder.
 */
export const COVERAGE_FRAGMENTS = ['gcov', 'fault-injection'] as const;
export const COVERAGE_PATCH = 'patches/gcov-profile-nvdimm.patch';
/** The folders whose objects are profiled (the patch sets GCOV_PROFILE there). */
export const PROFILED_DIRS = ['drivers/nvdimm', 'drivers/dax'] as const;

export async function coverageFragments(have: readonly string[]): Promise<Fragment[]> {
  const out: Fragment[] = [];
  for (const name of COVERAGE_FRAGMENTS) {
    if (have.includes(name)) continue;
    const path = join(kernelsDir(), 'fragments', `${name}.config`);
    out.push({ name, path, content: await readFile(path, 'utf8') });
  }
  return out;
}

export const coveragePatchPath = () => join(kernelsDir(), COVERAGE_PATCH);

/** What a coverage build keeps next to its bzImage (CACHE/builds/NAME-KEY/gcov/). */
export interface GcovRecord {
  /** Folder holding obj/<dir>/*.gcno and src/<dir>/*.{c,h} (the sources as compiled, patches applied). */
  dir: string;
  /** The object folder the kernel was built in: the guest's /sys/kernel/debug/gcov mirrors this absolute path. */
  objDir: string;
  /** The source tree as compiled: the path the .gcno files name. */
  srcDir: string;
  dirs: string[];
  gcno: number;
}

async function walk(dir: string, keep: (name: string) => boolean, out: string[] = []): Promise<string[]> {
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, keep, out);
    else if (e.isFile() && keep(e.name)) out.push(p);
  }
  return out;
}

/**
 * Copy the .gcno files of the profiled folders and their sources (.c and
 * .h, as the build saw them: the working tree changes with the next patch)
 * into `work/gcov`. A coverage build without a single .gcno is a broken
 * build (the Makefile patch did not apply where expected): the caller fails.
 */
export async function keepGcovFiles(objDir: string, srcDir: string, work: string, finalDir: string): Promise<GcovRecord> {
  let gcno = 0;
  const base = join(work, 'gcov');
  for (const d of PROFILED_DIRS) {
    for (const f of await walk(join(objDir, d), (n) => n.endsWith('.gcno'))) {
      const dest = join(base, 'obj', relative(objDir, f));
      await mkdir(dirname(dest), { recursive: true });
      await copyFile(f, dest);
      gcno++;
    }
    for (const f of await walk(join(srcDir, d), (n) => /\.[ch]$/.test(n))) {
      const dest = join(base, 'src', relative(srcDir, f));
      await mkdir(dirname(dest), { recursive: true });
      await copyFile(f, dest);
    }
  }
  return { dir: join(finalDir, 'gcov'), objDir, srcDir, dirs: [...PROFILED_DIRS], gcno };
}

/**
 * A configuration's first build in a working tree starts from a copy of the
 * closest object folder of that tree (same base, the most fragments in
 * common): Kbuild's per-symbol dependencies (fixdep) then recompile only the
 * files that read a changed option, instead of a cold build of the whole
 * kernel. Turning gcov + fault injection on over tinyconfig+ramdax rebuilds
 * a few hundred files instead of ~1,400. Nothing is copied when no sibling
 * shares the base.
 */
export async function seedObjDir(objDir: string, log: Logger): Promise<string | undefined> {
  if (await exists(objDir)) return undefined;
  const parent = dirname(objDir);
  const mine = labelParts(objDir);
  if (mine.base === 'config') return undefined; // a config file's folders differ by file, not by name
  let best: { dir: string; common: number } | undefined;
  for (const e of await readdir(parent, { withFileTypes: true }).catch(() => [])) {
    if (!e.isDirectory()) continue;
    const dir = join(parent, e.name);
    if (dir === objDir || !(await exists(join(dir, '.config'))) || !(await exists(join(dir, 'vmlinux')))) continue;
    const theirs = labelParts(dir);
    if (theirs.base !== mine.base) continue;
    const common = theirs.fragments.filter((f) => mine.fragments.includes(f)).length;
    if (theirs.fragments.some((f) => !mine.fragments.includes(f))) continue;
    if (!best || common > best.common) best = { dir, common };
  }
  if (!best) return undefined;
  const started = Date.now();
  await host('cp', ['-a', '--reflink=auto', best.dir, `${objDir}.seeding`]);
  await host('mv', ['-T', `${objDir}.seeding`, objDir]);
  log.info(`  object folder seeded from ${best.dir} in ${((Date.now() - started) / 1000).toFixed(1)} s (Kbuild recompiles only what the new options touch)`);
  return best.dir;
}

/** `tinyconfig+ramdax+gcov-1234abcd` → base tinyconfig, fragments [ramdax, gcov]. */
function labelParts(dir: string): { base: string; fragments: string[] } {
  const name = dir.slice(dir.lastIndexOf('/') + 1).replace(/-[0-9a-f]{8}$/, '');
  const [base, ...fragments] = name.split('+');
  return { base: base!, fragments };
}
