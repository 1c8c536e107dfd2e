/**
 * Pure planning for the cache-owned working tree (see work-tree.ts): which
 * files to copy from the source, which to remove, and how to move from the
 * previous patch series to the next one rewriting only files whose content
 * changes. Nothing here touches the disk.
 */

/** A file's content hash (sha256 hex), or null when the file is absent. */
export type Content = string | null;

export type OverlayOp = 'keep' | 'write' | 'remove';

export interface OverlayAction {
  path: string;
  op: OverlayOp;
  /** Where the new content comes from: the patched result, or the pristine source file. */
  from: 'patched' | 'pristine';
}

/**
 * From the files the previous series changed to the files the next one
 * changes. Every path either series touches must end up holding the next
 * series' result, or — when the next series leaves it alone — the pristine
 * source content; it is rewritten only when what the tree holds now differs
 * (so unchanged files keep their mtime, and make leaves their objects alone).
 * A file the previous series changed and the next does not goes back to
 * pristine content with a fresh mtime, so make rebuilds it.
 */
export function planOverlay(o: {
  previous: Readonly<Record<string, Content>>;
  next: Readonly<Record<string, Content>>;
  pristine: Readonly<Record<string, Content>>;
  current: Readonly<Record<string, Content>>;
}): OverlayAction[] {
  const paths = [...new Set([...Object.keys(o.previous), ...Object.keys(o.next)])].sort();
  return paths.map((path) => {
    const patched = Object.hasOwn(o.next, path);
    const want = patched ? o.next[path]! : (o.pristine[path] ?? null);
    const have = o.current[path] ?? null;
    const from = patched ? 'patched' : 'pristine';
    if (want === have) return { path, op: 'keep', from };
    return { path, op: want === null ? 'remove' : 'write', from };
  });
}

/** A cheap identity of a source file (type, size, mtime): when it is unchanged the content is taken as unchanged. */
export type Signature = string;

export interface MirrorPlan {
  /** Paths to compare with the working tree and copy when their content differs. */
  check: string[];
  /** Paths to remove from the working tree (gone from the source). */
  remove: string[];
}

/**
 * What a mirror sync must look at. With the signatures of the last sync,
 * only new or changed source files are checked; without them (first sync,
 * or one that was interrupted) every source file is checked and every file
 * of the working tree the source no longer has is removed. Paths in
 * `exclude` (the patch overlay) are the overlay's business.
 */
export function planMirror(o: {
  previous?: ReadonlyMap<string, Signature>;
  source: ReadonlyMap<string, Signature>;
  /** The working tree's files; needed when there is no previous state. */
  work?: Iterable<string>;
  exclude?: ReadonlySet<string>;
}): MirrorPlan {
  const skip = o.exclude ?? new Set<string>();
  const check: string[] = [];
  const remove: string[] = [];
  for (const [path, sig] of o.source) {
    if (skip.has(path)) continue;
    if (!o.previous || o.previous.get(path) !== sig) check.push(path);
  }
  const known = o.previous ? o.previous.keys() : (o.work ?? []);
  for (const path of known) if (!skip.has(path) && !o.source.has(path)) remove.push(path);
  return { check: check.sort(), remove: remove.sort() };
}

/** Files whose change means the kernel configuration must be resolved again. */
export function affectsConfig(path: string): boolean {
  return /(^|\/)Kconfig[^/]*$/.test(path) || /^scripts\/kconfig\//.test(path) || /^(arch\/[^/]+\/configs|kernel\/configs)\//.test(path) || path === 'Makefile';
}
