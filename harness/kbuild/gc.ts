import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { host } from '../common/exec.js';
import { exists } from '../common/fs.js';
import type { Logger } from '../common/log.js';
import { parseSize } from '../common/units.js';
import { isLocked, tryLock } from './build-lock.js';
import { planGc, type GcItem, type GcPlan, type GcPolicy } from './gc-plan.js';
import { workDir } from './work-tree.js';

const DAY = 86_400_000;
export const DEFAULT_MAX_BYTES = 20 * 2 ** 30;
export const DEFAULT_MAX_AGE_MS = 30 * DAY;
export const DEFAULT_MIN_AGE_MS = 3_600_000;

/** The size cap: `RAMDAX_HARNESS_BUILD_CACHE_MAX` (e.g. 40G) or 20 GiB. */
export function defaultMaxBytes(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.RAMDAX_HARNESS_BUILD_CACHE_MAX;
  return (v && parseSize(v)) || DEFAULT_MAX_BYTES;
}

async function dirs(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => join(path, e.name)).sort();
}

/** Disk bytes under `path` (du: hard-linked files count where du meets them). */
async function du(path: string): Promise<number> {
  const r = await host('du', ['-s', '-B1', path]).catch(() => undefined);
  return r ? Number(r.stdout.split('\t')[0]) || 0 : 0;
}

async function mtime(path: string): Promise<number | undefined> {
  return stat(path).then((s) => s.mtimeMs, () => undefined);
}

/** When a folder was last used: its .last-used stamp, else the newest of the given files, else its own mtime. */
async function lastUsed(dir: string, ...files: string[]): Promise<number> {
  for (const f of ['.last-used', ...files]) {
    const t = await mtime(join(dir, f));
    if (t !== undefined) return t;
  }
  return (await mtime(dir)) ?? 0;
}

interface Current {
  name: string;
  dir?: string;
  adhoc: boolean;
}

/** Every kernels/NAME/current.json: which folder each kernel name uses now, and whether the name came from the command line. */
async function currents(cacheDir: string): Promise<Current[]> {
  const out: Current[] = [];
  for (const d of await dirs(join(cacheDir, 'kernels'))) {
    const j = await readFile(join(d, 'current.json'), 'utf8').then((t) => JSON.parse(t) as { dir?: string; adhoc?: unknown }, () => undefined);
    out.push({ name: d.split('/').at(-1)!, dir: j?.dir, adhoc: !!j?.adhoc });
  }
  return out;
}

/**
 * Everything gc may remove, with size and last use: working trees and their
 * object folders (CACHE/work), finished kernels (CACHE/builds/NAME-KEY),
 * imported kernels a definition no longer points at (CACHE/kernels/NAME/…),
 * and what earlier layouts left (sources/patched, sources/checkout, builds/obj).
 */
export async function collectGcItems(cacheDir: string, catalogKernels: ReadonlySet<string>, o: { legacy?: boolean } = {}): Promise<GcItem[]> {
  const items: GcItem[] = [];
  for (const tree of await dirs(workDir(cacheDir))) {
    const locked = (await isLocked(tree)) ? 'a build is using it' : undefined;
    const objs = await dirs(join(tree, 'obj'));
    let childBytes = 0;
    for (const o of objs) {
      const bytes = await du(o);
      childBytes += bytes;
      items.push({ path: o, kind: 'object-folder', bytes, lastUsed: await lastUsed(o, 'build.log', '.config'), parent: tree, ...(locked ? { keep: locked } : {}) });
    }
    items.push({ path: tree, kind: 'work-tree', bytes: Math.max(0, (await du(tree)) - childBytes), lastUsed: await lastUsed(tree, 'state.json'), ...(locked ? { keep: locked } : {}) });
  }
  const cur = await currents(cacheDir);
  const pinned = new Map(cur.filter((c) => c.dir && (catalogKernels.has(c.name) || !c.adhoc)).map((c) => [c.dir!, c.name]));
  for (const b of await dirs(join(cacheDir, 'builds'))) {
    const name = b.split('/').at(-1)!;
    if (name === 'requests' || name === 'obj' || name.endsWith('.partial')) continue;
    const keep = pinned.get(b);
    items.push({ path: b, kind: 'kernel-build', bytes: await du(b), lastUsed: await lastUsed(b, 'manifest.json'), ...(keep ? { keep: `current kernel of '${keep}'` } : {}) });
  }
  for (const c of cur) {
    for (const d of await dirs(join(cacheDir, 'kernels', c.name))) {
      const keep = pinned.get(d);
      // A Debian or local definition's current folder stays; a superseded one, or one from a command-line path, may go.
      if (d === c.dir && keep) continue;
      items.push({ path: d, kind: 'kernel-import', bytes: await du(d), lastUsed: await lastUsed(d, 'manifest.json'), ...(keep ? { keep: `current kernel of '${keep}'` } : {}) });
    }
  }
  // An older harness may still be building there: only an explicit `kernel gc` touches them.
  const legacyDirs = o.legacy === false ? [] : [join(cacheDir, 'sources', 'patched'), join(cacheDir, 'sources', 'checkout'), join(cacheDir, 'builds', 'obj')];
  for (const legacy of legacyDirs) {
    for (const d of await dirs(legacy)) items.push({ path: d, kind: 'legacy', bytes: await du(d), lastUsed: (await mtime(d)) ?? 0 });
  }
  return items;
}

export interface GcResult extends GcPlan {
  /** Planned removals skipped because a build took the tree meanwhile. */
  skipped: string[];
}

/** Plan and (unless dryRun) remove; then drop request entries and command-line kernel names whose folders are gone. */
export async function runGc(cacheDir: string, catalogKernels: ReadonlySet<string>, policy: Partial<GcPolicy> & { dryRun?: boolean; legacy?: boolean } = {}): Promise<GcResult> {
  const items = await collectGcItems(cacheDir, catalogKernels, { legacy: policy.legacy });
  const plan = planGc(items, { now: Date.now(), maxAgeMs: DEFAULT_MAX_AGE_MS, maxBytes: defaultMaxBytes(), minAgeMs: DEFAULT_MIN_AGE_MS, ...policy });
  const skipped: string[] = [];
  if (policy.dryRun) return { ...plan, skipped };
  for (const { item } of plan.remove) {
    if (item.parent && plan.remove.some((d) => d.item.path === item.parent)) continue;
    const lockOf = item.kind === 'work-tree' ? item.path : item.kind === 'object-folder' ? item.parent! : undefined;
    const release = lockOf ? await tryLock(lockOf) : async () => undefined;
    if (!release) {
      skipped.push(item.path);
      continue;
    }
    try {
      await rm(item.path, { recursive: true, force: true });
    } finally {
      await release();
    }
    if (item.kind === 'work-tree') await rm(`${item.path}.lock-owner.json`, { force: true });
  }
  await dropDangling(cacheDir);
  return { ...plan, skipped };
}

async function dropDangling(cacheDir: string): Promise<void> {
  const req = join(cacheDir, 'builds', 'requests');
  for (const f of await readdir(req).catch(() => [] as string[])) {
    const j = await readFile(join(req, f), 'utf8').then((t) => JSON.parse(t) as { manifest?: string }, () => undefined);
    if (!j?.manifest || !(await exists(j.manifest))) await rm(join(req, f), { force: true });
  }
  for (const c of await currents(cacheDir)) {
    if (c.adhoc && c.dir && !(await exists(c.dir))) await rm(join(cacheDir, 'kernels', c.name), { recursive: true, force: true });
  }
}

/**
 * The size cap after a build: at most once an hour, everything unused for
 * 30 days and then the least recently used until the build cache is under
 * its cap. Failures are warnings: a finished build never fails on gc.
 */
export async function autoGc(cacheDir: string, log: Logger, catalogKernels: ReadonlySet<string> = new Set()): Promise<void> {
  const stamp = join(workDir(cacheDir), '.gc-last');
  const last = await mtime(stamp);
  if (last !== undefined && Date.now() - last < 3_600_000) return;
  try {
    await writeFile(stamp, `${new Date().toISOString()}\n`);
    const r = await runGc(cacheDir, catalogKernels, { legacy: false });
    if (r.remove.length) log.info(`gc: removed ${r.remove.length} old build folder(s), ${formatBytes(r.totalBefore - r.totalAfter)} freed (build cache ${formatBytes(r.totalAfter)}; \`ramdax-harness kernel gc --dry-run\` lists what it would remove)`);
  } catch (err) {
    log.warn(`gc after the build failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(0)} MiB`;
  return `${Math.round(n / 1024)} KiB`;
}
