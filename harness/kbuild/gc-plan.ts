/**
 * Which build products `kernel gc` (and the size cap after each build)
 * removes. Pure: the items, their sizes and last use come from gc.ts.
 */

export type GcKind = 'work-tree' | 'object-folder' | 'kernel-build' | 'kernel-import' | 'legacy';

export interface GcItem {
  path: string;
  kind: GcKind;
  bytes: number;
  /** Milliseconds since the epoch of the last build or run that used it. */
  lastUsed: number;
  /** Why it must stay, if it must (locked by a running build, the current kernel of a definition). */
  keep?: string;
  /** The item this one lives in (an object folder's working tree): removing the parent removes it. Bytes are not shared. */
  parent?: string;
}

export interface GcPolicy {
  now: number;
  /** Remove what has not been used for this long. */
  maxAgeMs: number;
  /** Then remove the least recently used until the total is at most this. */
  maxBytes: number;
  /** Never remove what was used this recently (a build or run of another harness may be using it). */
  minAgeMs: number;
}

export interface GcDecision {
  item: GcItem;
  why: string;
}

export interface GcPlan {
  remove: GcDecision[];
  totalBefore: number;
  totalAfter: number;
}

const days = (ms: number) => `${(ms / 86_400_000).toFixed(ms < 86_400_000 ? 1 : 0)} days`;

/**
 * Age first (unused for longer than maxAge, legacy layouts always), then
 * the size cap by least recent use. Kept items, and items used within
 * minAge, are never chosen. Removing a working tree removes its object
 * folders: they are not counted twice.
 */
export function planGc(items: readonly GcItem[], p: GcPolicy): GcPlan {
  const total = (xs: readonly GcItem[]) => xs.reduce((n, i) => n + i.bytes, 0);
  const totalBefore = total(items);
  const removed = new Map<string, GcDecision>();
  const gone = (i: GcItem) => removed.has(i.path) || (i.parent !== undefined && removed.has(i.parent));
  const removable = (i: GcItem) => !i.keep && p.now - i.lastUsed >= p.minAgeMs && !gone(i);
  // A working tree's children keep it alive when they must stay.
  const pinned = new Set(items.filter((i) => i.parent && !removableIgnoringParent(i, p)).map((i) => i.parent!));
  const canGo = (i: GcItem) => removable(i) && !pinned.has(i.path);

  // Working trees before their object folders: a folder that goes with its tree is not listed twice.
  for (const i of [...items].sort((a, b) => Number(a.parent !== undefined) - Number(b.parent !== undefined))) {
    if (!canGo(i)) continue;
    if (i.kind === 'legacy') removed.set(i.path, { item: i, why: 'left by an earlier harness layout' });
    else if (p.now - i.lastUsed > p.maxAgeMs) removed.set(i.path, { item: i, why: `unused for ${days(p.now - i.lastUsed)}` });
  }
  // An item's bytes are its own: a working tree's exclude its object folders, which are items too.
  const size = () => total(items.filter((i) => !gone(i)));
  const byAge = [...items].filter((i) => i.parent === undefined).sort((a, b) => a.lastUsed - b.lastUsed);
  for (const i of byAge) {
    if (size() <= p.maxBytes) break;
    if (!canGo(i)) continue;
    removed.set(i.path, { item: i, why: `least recently used (${days(p.now - i.lastUsed)} ago) while the build cache is over its ${Math.round(p.maxBytes / 2 ** 30)} GiB cap` });
  }
  return { remove: [...removed.values()], totalBefore, totalAfter: size() };
}

function removableIgnoringParent(i: GcItem, p: GcPolicy): boolean {
  return !i.keep && p.now - i.lastUsed >= p.minAgeMs;
}
