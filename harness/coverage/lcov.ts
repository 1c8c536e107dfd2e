import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { host } from '../common/exec.js';
import type { GcovRecord } from '../build/coverage-build.js';

/**
 * The real tools, run with argument arrays: geninfo (through `lcov
 * --capture`) runs gcov on each .gcda against the build's .gcno; `lcov -a`
 * adds tracefiles (keeping each test name's data apart), `lcov --extract`
 * keeps the profiled folders, genhtml writes the annotated sources.
 */

/** Branch data is off by default in lcov 1.x. */
const RC = ['--rc', 'lcov_branch_coverage=1'];

/** lcov test names are word characters only: a case id made safe and unique. */
export function testName(caseId: string, taken: Set<string>): string {
  const base = caseId.replace(/\W+/g, '_').replace(/^_|_$/g, '') || 'case';
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

/** Where a profiled source file is, as a path relative to the kernel's source tree (drivers/nvdimm/ramdax.c), or undefined. */
export function profiledPath(sf: string, dirs: readonly string[]): string | undefined {
  for (const d of dirs) {
    const i = sf.lastIndexOf(`/${d}/`);
    if (i >= 0) return sf.slice(i + 1);
    if (sf.startsWith(`${d}/`)) return sf;
  }
  return undefined;
}

/**
 * Rewrite SF: lines to `prefix/drivers/...` (the copy of the sources in the
 * coverage folder) and drop records of files outside the profiled folders
 * (headers inlined into them). Text edit of the tracefile, lcov's own format.
 */
export function relocate(info: string, dirs: readonly string[], prefix: string): string {
  const out: string[] = [];
  let keep = true;
  for (const line of info.split('\n')) {
    if (line.startsWith('SF:')) {
      const p = profiledPath(line.slice(3), dirs);
      keep = p !== undefined;
      if (keep) out.push(`SF:${prefix ? `${prefix}/` : ''}${p}`);
      continue;
    }
    if (line.startsWith('TN:')) {
      out.push(line);
      continue;
    }
    if (keep) out.push(line);
    if (line === 'end_of_record') keep = true;
  }
  return out.join('\n');
}

async function walk(dir: string, out: string[] = []): Promise<string[]> {
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else out.push(p);
  }
  return out;
}

/**
 * One segment (a .tar.gz of the guest's /sys/kernel/debug/gcov) → an lcov
 * tracefile for test `tn`, SF: paths relative to `prefix`. The .gcda files
 * are laid next to copies of the build's .gcno in the object folder's
 * layout; gcov reads both. Returns '' when the segment holds no counters.
 */
export async function captureSegment(archive: string, gcov: GcovRecord, tn: string, prefix: string): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'ramdax-cov-'));
  try {
    const raw = join(work, 'raw');
    await mkdir(raw);
    await host('tar', ['-xzf', archive, '-C', raw]);
    // The object folder's layout, rooted where the build had it (gcov resolves the sources the .gcno names from there).
    const obj = join(work, 'tree', 'obj');
    await cp(join(gcov.dir, 'obj'), obj, { recursive: true });
    let n = 0;
    const objRel = gcov.objDir.replace(/^\/+/, '');
    for (const f of await walk(raw)) {
      if (!f.endsWith('.gcda')) continue;
      const rel = relative(raw, f);
      const inObj = rel.startsWith(`${objRel}/`) ? rel.slice(objRel.length + 1) : undefined;
      const p = inObj ?? profiledPath(`/${rel}`, gcov.dirs);
      if (!p) continue;
      await mkdir(dirname(join(obj, p)), { recursive: true });
      await cp(f, join(obj, p));
      n++;
    }
    if (!n) return '';
    const out = join(work, 'seg.info');
    await host('lcov', ['--capture', '--quiet', '--directory', obj, '--base-directory', gcov.objDir, '--test-name', tn, '--output-file', out, '--ignore-errors', 'source,gcov', ...RC], { cwd: obj });
    return relocate(await readFile(out, 'utf8'), gcov.dirs, prefix);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** `lcov -a` over several tracefiles (empty ones skipped) into `out`; '' in, '' out. */
export async function addTracefiles(files: readonly string[], out: string): Promise<boolean> {
  const real: string[] = [];
  for (const f of files) if ((await readFile(f, 'utf8').catch(() => '')).includes('SF:')) real.push(f);
  if (!real.length) return false;
  if (real.length === 1) {
    await writeFile(out, await readFile(real[0]!, 'utf8'));
    return true;
  }
  await host('lcov', ['--quiet', ...real.flatMap((f) => ['-a', f]), '--output-file', out, ...RC]);
  return true;
}

/** `lcov --list` of a tracefile: per-file lines, functions and branches as lcov prints them. */
export async function listTracefile(file: string): Promise<string> {
  return (await host('lcov', ['--list', file, '--list-full-path', ...RC])).stdout;
}

/** genhtml with per-test details (which case ran each line), sources read relative to `srcRoot`. */
export async function genhtml(info: string, outDir: string, srcRoot: string, title: string): Promise<void> {
  await rm(outDir, { recursive: true, force: true });
  await host('genhtml', ['--quiet', info, '--output-directory', outDir, '--show-details', '--function-coverage', '--branch-coverage', '--legend', '--title', title, '--ignore-errors', 'source', ...RC], { cwd: srcRoot });
}
