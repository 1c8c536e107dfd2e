import { parsePatch } from 'diff';

/**
 * The lines a patch series adds or changes, numbered as in the files after
 * the whole series (what the coverage kernel was compiled from, so the same
 * numbers gcov reports). Each patch's hunks move the lines earlier patches
 * added (context and shifts) and drop those it deletes; its own `+` lines
 * are added. Pure deletions leave no line to run and are not counted.
 */
export type ChangedLines = Map<string, Set<number>>;

const strip = (name: string | undefined) => (name ?? '').replace(/\t.*$/, '').replace(/^[ab]\//, '');

/**
 * The diff of a mail: from the first `diff --git` (else the first `--- `
 * file header) to the signature line `-- ` git format-patch ends with.
 */
export function diffPart(text: string): string {
  let at = text.search(/^diff --git /m);
  if (at < 0) at = text.search(/^--- \S.*\n\+\+\+ /m);
  const body = at > 0 ? text.slice(at) : text;
  const sig = body.search(/^-- $/m);
  return sig >= 0 ? body.slice(0, sig) : body;
}

export function changedLines(patches: readonly string[]): ChangedLines {
  const out: ChangedLines = new Map();
  for (const text of patches) {
    for (const fd of parsePatch(diffPart(text))) {
      if (!fd.hunks.length) continue;
      const oldName = strip(fd.oldFileName);
      const newName = strip(fd.newFileName);
      const before = oldName && oldName !== '/dev/null' ? (out.get(oldName) ?? new Set<number>()) : new Set<number>();
      if (oldName && oldName !== newName) out.delete(oldName);
      if (!newName || newName === '/dev/null') {
        out.delete(oldName);
        continue;
      }
      const next = new Set<number>();
      const inHunk = new Set<number>();
      for (const h of fd.hunks) {
        let o = h.oldStart;
        let n = h.newStart;
        for (const l of h.lines) {
          const c = l[0];
          if (c === ' ') {
            if (before.has(o)) next.add(n);
            inHunk.add(o);
            o++;
            n++;
          } else if (c === '-') {
            inHunk.add(o);
            o++;
          } else if (c === '+') {
            next.add(n);
            n++;
          }
        }
      }
      // Lines no hunk touched move by the size change of the hunks before them.
      for (const x of before) {
        if (inHunk.has(x)) continue;
        let delta = 0;
        for (const h of fd.hunks) {
          const last = h.oldLines > 0 ? h.oldStart + h.oldLines - 1 : h.oldStart;
          if (last < x) delta += h.newLines - h.oldLines;
        }
        next.add(x + delta);
      }
      out.set(newName, next);
    }
  }
  for (const [f, s] of out) if (!s.size) out.delete(f);
  return out;
}
