/** Pure helpers over kernel build output: progress counting and the first compiler errors. */

/** Lines Kbuild prints per object it builds (`  CC      mm/slub.o`). */
const OBJECT_LINE = /^\s{2}(CC|AS|AR|LD|CPP|HOSTCC|OBJCOPY|GEN|UPD|VDSO|RELOCS|MKPIGGY|ZOFFSET|VOFFSET)\b/;

export function countObjects(lines: readonly string[]): number {
  let n = 0;
  for (const l of lines) if (/^\s{2}CC\s/.test(l)) n++;
  return n;
}

export const isKbuildStep = (line: string) => OBJECT_LINE.test(line);

/**
 * The first error lines of a failed build: compiler/linker errors with the
 * line before each (the "In function" context), else make's own `***` lines.
 */
export function firstErrors(log: string, max = 8): string[] {
  const lines = log.split('\n');
  const out: string[] = [];
  const errorLine = /(\berror:|\bfatal error\b|undefined reference to|\bundefined symbol\b|multiple definition of)/;
  for (let i = 0; i < lines.length && out.length < max; i++) {
    if (!errorLine.test(lines[i]!)) continue;
    const prev = lines[i - 1];
    if (prev !== undefined && /In function|In file included|: note:/.test(prev) && !out.includes(prev)) out.push(prev);
    out.push(lines[i]!);
  }
  if (out.length) return out.slice(0, max);
  return lines.filter((l) => /\*\*\*|Error \d+/.test(l)).slice(0, max);
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}
