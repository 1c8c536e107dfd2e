import { execa } from 'execa';
import { copyFile, lstat, mkdir, readFile, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InputError, infraError } from '../common/errors.js';
import { host } from '../common/exec.js';
import { exists, writeFileAtomic } from '../common/fs.js';
import { sha256 } from '../common/hash.js';
import type { Logger } from '../common/log.js';
import { patchLabel, patchRecord, type PatchRecord, type SeriesPatch } from './patch-series.js';
import { planMirror, planOverlay, type Content, type OverlayAction, type Signature } from './sync-plan.js';

/**
 * Where a kernel source is synced to: one working tree per source tree
 * (CACHE/work/KEY/src) with its object folders beside it
 * (CACHE/work/KEY/obj/CONFIG), so every path a build sees stays the same
 * from one patch (or revision) to the next and make recompiles only what
 * changed. The user's tree is only read.
 */
export interface WorkTree {
  key: string;
  root: string;
  src: string;
  state: string;
}

export const workDir = (cacheDir: string) => join(cacheDir, 'work');

export function workTree(cacheDir: string, key: string): WorkTree {
  const root = join(workDir(cacheDir), key);
  return { key, root, src: join(root, 'src'), state: join(root, 'state.json') };
}

/** The object folder of one configuration of a working tree (always two levels below it: ccache sees the same relative paths in every tree). */
export const objDirOf = (wt: WorkTree, config: string) => join(wt.root, 'obj', config);

/**
 * Where files come from. `git`: the user's git tree, tracked and untracked
 * files that .gitignore does not exclude, uncommitted changes included.
 * `plain`: a folder without git, every file but kernel build outputs.
 * `cache`: a tree the cache owns and never changes once unpacked (Debian's
 * linux-source): hard-linked on first use, not rescanned afterwards.
 */
export interface SourceTree {
  dir: string;
  kind: 'git' | 'plain' | 'cache';
  /** For messages: `linux-source-7.2 7.2.13-1`, `~/linux at 1234abcd+dirty`. */
  describe: string;
}

interface State {
  version: 1;
  source: string;
  kind: SourceTree['kind'];
  /** True while a sync runs: a crash in the middle makes the next sync check every file. */
  syncing: boolean;
  files: Record<string, Signature>;
  /** What the patch series made of each file it touched (content hash, null = removed). */
  overlay: Record<string, Content>;
  series: PatchRecord[];
  lastUsed: string;
}

export interface SyncResult {
  src: string;
  /** Paths written or removed by this sync (source changes and patches). */
  changed: string[];
  /** Source files compared with the working tree. */
  checked: number;
  /** The working tree was created by this sync. */
  populated: boolean;
  overlay: OverlayAction[];
  wallMs: number;
}

/** Kernel build outputs a plain (non-git) tree may hold; copying them would make `make O=` refuse the tree or pick stale objects. */
const PLAIN_PRUNE_DIRS = ['.git', 'include/config', 'include/generated', 'arch/*/include/generated', '.tmp_versions'];
const PLAIN_SKIP_NAMES = ['*.o', '*.a', '*.ko', '*.mod', '*.mod.c', '*.cmd', '*.order', '*.symvers', '*.d', '.config', '.config.old', 'vmlinux', 'vmlinux.*', 'System.map', 'bzImage', '*.tmp', '.tmp_*'];

const toMap = (r: Record<string, string>) => new Map(Object.entries(r));

async function readState(path: string): Promise<State | undefined> {
  try {
    const s = JSON.parse(await readFile(path, 'utf8')) as State;
    return s.version === 1 ? s : undefined;
  } catch {
    return undefined;
  }
}

const writeState = (path: string, s: State) => writeFileAtomic(path, JSON.stringify(s));

/** The source's files with a cheap signature each (type, size, mtime). */
async function listSource(src: SourceTree): Promise<Map<string, Signature>> {
  if (src.kind === 'git') {
    const r = await execa('git', ['--no-optional-locks', '-C', src.dir, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], { maxBuffer: 1 << 30 });
    const paths = [...new Set(String(r.stdout).split('\0').filter(Boolean))];
    const out = new Map<string, Signature>();
    for (let i = 0; i < paths.length; i += 512) {
      const chunk = paths.slice(i, i + 512);
      const sigs = await Promise.all(chunk.map((p) => lstat(join(src.dir, p)).then((s) => (s.isFile() ? `f:${s.size}:${s.mtimeMs}:${s.mode & 0o111 ? 'x' : '-'}` : s.isSymbolicLink() ? `l:${s.size}:${s.mtimeMs}` : undefined), () => undefined)));
      chunk.forEach((p, j) => sigs[j] && out.set(p, sigs[j]!));
    }
    return out;
  }
  return findFiles(src.dir, src.kind === 'plain');
}

/** `find` over a folder: regular files and symlinks with type, size, mtime and mode (optionally without build outputs). */
async function findFiles(dir: string, skipBuildOutputs: boolean): Promise<Map<string, Signature>> {
  const prune = (skipBuildOutputs ? PLAIN_PRUNE_DIRS : ['.git']).flatMap((d, i) => [...(i ? ['-o'] : []), '-path', `./${d}`]);
  const names = skipBuildOutputs ? ['!', '(', ...PLAIN_SKIP_NAMES.flatMap((n, i) => [...(i ? ['-o'] : []), '-name', n]), ')'] : [];
  const r = await execa('find', ['.', '-mindepth', '1', '(', ...prune, ')', '-prune', '-o', '(', '-type', 'f', '-o', '-type', 'l', ')', ...names, '-printf', '%P\\0%y:%s:%T@:%m\\0'], { cwd: dir, maxBuffer: 1 << 30 });
  const parts = String(r.stdout).split('\0');
  const out = new Map<string, Signature>();
  for (let i = 0; i + 1 < parts.length; i += 2) out.set(parts[i]!, parts[i + 1]!);
  return out;
}

/** A file's content identity: hash of content (and exec bit) or of a symlink's target; null when absent. */
async function contentOf(path: string): Promise<Content> {
  const s = await lstat(path).catch(() => undefined);
  if (!s) return null;
  if (s.isSymbolicLink()) return sha256('l', await readlink(path));
  if (!s.isFile()) return sha256('other');
  return sha256(s.mode & 0o111 ? 'x' : '-', await readFile(path));
}

/** Put `from`'s content at `to` as a new file (fresh mtime: make sees the change), atomically. */
async function place(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  const tmp = `${to}.ramdax-harness-tmp`;
  await rm(tmp, { force: true });
  const s = await lstat(from);
  if (s.isSymbolicLink()) await symlink(await readlink(from), tmp);
  else await copyFile(from, tmp);
  await rename(tmp, to);
}

/**
 * Apply the series to copies of the files it touches, in `scratch`: the
 * result of every touched path (content hash, or null when the series
 * removes it). A patch that does not apply is bad input naming the patch.
 */
async function applySeries(source: SourceTree, patches: readonly SeriesPatch[], scratch: string): Promise<Record<string, Content>> {
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  const paths = [...new Set(patches.flatMap((p) => p.paths))];
  for (const p of paths) if (await exists(join(source.dir, p)).catch(() => false)) await place(join(source.dir, p), join(scratch, p));
  for (const [i, p] of patches.entries()) {
    const r = await execa('git', ['apply', '--whitespace=nowarn', '-'], { cwd: scratch, input: p.content, reject: false, env: { GIT_CEILING_DIRECTORIES: dirname(scratch) } });
    if (r.exitCode !== 0) {
      const why = String(r.stderr).trim().split('\n').slice(0, 6).join('; ');
      throw new InputError([{ pos: { file: p.file, line: p.line, col: 1 }, message: `patch ${i + 1}/${patches.length} "${p.subject}" does not apply to ${source.describe}${i ? ` after ${patches.slice(0, i).map((x) => patchLabel(x)).join(', ')}` : ''}: ${why}` }]);
    }
  }
  const out: Record<string, Content> = {};
  for (const p of paths) out[p] = await contentOf(join(scratch, p));
  return out;
}

/** Every file under `dir` (relative paths), for the full check after an interrupted sync. */
async function listWork(dir: string): Promise<string[]> {
  return [...(await findFiles(dir, false)).keys()];
}

/**
 * Bring the working tree to `source` + `patches`, writing only files whose
 * content differs from what the tree holds (they get a fresh mtime; all
 * others keep theirs). Files the previous series changed and this one does
 * not go back to the source's content. The first sync copies the source
 * (hard links for a cache-owned tree). Call it under the tree's lock.
 */
export async function syncWorkTree(wt: WorkTree, source: SourceTree, patches: readonly SeriesPatch[], log: Logger): Promise<SyncResult> {
  const started = Date.now();
  const prev = await readState(wt.state);
  const populated = !prev || !(await exists(wt.src));
  const sameSource = !!prev && !populated && prev.source === source.dir && prev.kind === source.kind && !prev.syncing;
  // Files either series touches are the overlay's business, not the mirror's.
  const overlayPaths = new Set([...patches.flatMap((p) => p.paths), ...Object.keys(prev?.overlay ?? {})]);

  // A cache-owned tree never changes once unpacked: no need to look at it again.
  const immutable = sameSource && source.kind === 'cache';
  const files = immutable ? toMap(prev!.files) : await listSource(source);
  const state: State = { version: 1, source: source.dir, kind: source.kind, syncing: true, files: prev?.files ?? {}, overlay: prev?.overlay ?? {}, series: prev?.series ?? [], lastUsed: new Date().toISOString() };
  await mkdir(wt.root, { recursive: true });
  await writeState(wt.state, state);

  const changed: string[] = [];
  let checked = 0;
  if (populated) {
    log.info(`  work tree: ${source.kind === 'cache' ? 'linking' : 'copying'} ${files.size} files of ${source.describe} into ${wt.src}`);
    await rm(wt.src, { recursive: true, force: true });
    await mkdir(wt.src, { recursive: true });
    const list = [...files.keys()].join('\0');
    await execa('cpio', ['-0', '-p', '-d', '-m', '--quiet', ...(source.kind === 'cache' ? ['-l'] : []), wt.src], { cwd: source.dir, input: list });
    state.overlay = {};
  } else if (!immutable) {
    const plan = planMirror({ previous: sameSource ? toMap(prev!.files) : undefined, source: files, work: sameSource ? undefined : await listWork(wt.src), exclude: overlayPaths });
    checked = plan.check.length;
    for (const p of plan.check) {
      const [a, b] = await Promise.all([contentOf(join(source.dir, p)), contentOf(join(wt.src, p))]);
      if (a === b) continue;
      await place(join(source.dir, p), join(wt.src, p));
      changed.push(p);
    }
    for (const p of plan.remove) {
      await rm(join(wt.src, p), { force: true });
      changed.push(p);
    }
    if (!sameSource && prev) log.info(`  work tree: ${wt.src} was last synced from ${prev.source}${prev.syncing ? ' (interrupted)' : ''}: checked all ${checked} files, ${changed.length} rewritten`);
  }

  // The series: patched results next to the source's content for every file either series touches.
  const next = patches.length ? await applySeries(source, patches, join(wt.root, 'scratch')) : {};
  const previousOverlay = populated ? {} : state.overlay;
  const union = [...new Set([...Object.keys(previousOverlay), ...Object.keys(next)])];
  const pristine: Record<string, Content> = {};
  const current: Record<string, Content> = {};
  for (const p of union) {
    pristine[p] = await contentOf(join(source.dir, p));
    current[p] = await contentOf(join(wt.src, p));
  }
  const actions = planOverlay({ previous: previousOverlay, next, pristine, current });
  for (const a of actions) {
    if (a.op === 'keep') continue;
    if (a.op === 'remove') await rm(join(wt.src, a.path), { force: true });
    else await place(join(a.from === 'patched' ? join(wt.root, 'scratch') : source.dir, a.path), join(wt.src, a.path));
    changed.push(a.path);
  }
  await rm(join(wt.root, 'scratch'), { recursive: true, force: true });

  const final: State = { ...state, syncing: false, files: Object.fromEntries(files), overlay: next, series: patches.map(patchRecord) };
  await writeState(wt.state, final);
  return { src: wt.src, changed: [...new Set(changed)].sort(), checked, populated, overlay: actions, wallMs: Date.now() - started };
}

/** Mark a working tree (or object folder) as used now, for `kernel gc`'s least-recently-used order. */
export async function touchUsed(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, '.last-used'), `${new Date().toISOString()}\n`);
}

/** The working trees in the cache (names under CACHE/work). */
export async function listWorkTrees(cacheDir: string): Promise<string[]> {
  const entries = await readdir(workDir(cacheDir), { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

/** Fail early, naming the tool, when cpio (the bulk copier) is missing. */
export async function checkSyncTools(): Promise<void> {
  await host('cpio', ['--version']).catch((err: unknown) => {
    throw infraError('cpio is needed to copy kernel trees into the cache', err, 'apt-get install cpio (ramdax-harness setup installs it)');
  });
}
