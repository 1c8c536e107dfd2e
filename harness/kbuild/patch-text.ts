/**
 * Pure helpers over patch files as kernel developers have them: a
 * `git format-patch` file (one mail), an mbox holding a whole series (what
 * `b4 am` or `git format-patch --stdout` writes), or a plain `diff -u`.
 */

/** An mbox "From " separator line: `From <sender> <asctime date>` (git: `From <sha> Mon Sep 17 00:00:00 2001`, b4: `From git@z Thu Jan  1 00:00:00 1970`). */
const FROM_LINE = /^From \S+ +(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} \d\d:\d\d:\d\d \d{4}\s*$/;

/** One mail of a patch file: its text and the line (1-based) where it starts in the file. */
export interface MailPart {
  text: string;
  line: number;
}

/** Split a patch file into its mails; a file without mbox separators is one part. */
export function splitMbox(text: string): MailPart[] {
  const lines = text.split('\n');
  const parts: MailPart[] = [];
  let start = 0;
  const push = (end: number) => {
    const chunk = lines.slice(start, end).join('\n');
    if (chunk.trim()) parts.push({ text: chunk.endsWith('\n') || end === lines.length ? chunk : `${chunk}\n`, line: start + 1 });
  };
  for (let i = 0; i < lines.length; i++) {
    if (i > start && FROM_LINE.test(lines[i]!)) {
      push(i);
      start = i;
    }
  }
  push(lines.length);
  return parts;
}

/** The mail's Subject header (folded lines joined), or undefined for a bare diff. */
export function mailSubject(mail: string): string | undefined {
  const lines = mail.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l === '') return undefined; // end of the headers
    const m = /^Subject:\s*(.*)$/i.exec(l);
    if (!m) continue;
    let s = m[1]!;
    for (let j = i + 1; j < lines.length && /^[ \t]/.test(lines[j]!); j++) s += ` ${lines[j]!.trim()}`;
    return s.trim();
  }
  return undefined;
}

/** A header that git apply would not undo: encoded bodies must be decoded first. */
export function transferEncoding(mail: string): string | undefined {
  const head = mail.split('\n\n', 1)[0] ?? '';
  return /^Content-Transfer-Encoding:\s*(\S+)/im.exec(head)?.[1]?.toLowerCase();
}

/** True when the text holds at least one file diff (a git diff header or a ---/+++ pair with a hunk). */
export function hasDiff(text: string): boolean {
  return /^diff --git /m.test(text) || /^--- \S.*\n\+\+\+ \S.*\n@@ /m.test(text);
}

/** `a/path` → `path` (the -p1 level git apply uses); /dev/null → undefined; "quoted" paths unquoted. */
function stripPrefix(raw: string): string | undefined {
  let p = raw.trim().replace(/\t.*$/, '');
  if (p.startsWith('"') && p.endsWith('"')) p = JSON.parse(p) as string;
  if (p === '/dev/null') return undefined;
  const slash = p.indexOf('/');
  return slash >= 0 ? p.slice(slash + 1) : p;
}

/**
 * Every path a patch reads or writes, in order of first mention: both sides
 * of git headers (renames and copies too) and of plain ---/+++ pairs.
 */
export function touchedPaths(text: string): string[] {
  const out: string[] = [];
  const add = (p: string | undefined) => {
    if (p && !out.includes(p)) out.push(p);
  };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const git = /^diff --git ("?a\/.*?"?) ("?b\/.*"?)$/.exec(l);
    if (git) {
      add(stripPrefix(git[1]!));
      add(stripPrefix(git[2]!));
      continue;
    }
    const rc = /^(rename|copy) (from|to) (.+)$/.exec(l);
    if (rc) {
      add(rc[3]!.trim());
      continue;
    }
    if (l.startsWith('--- ') && lines[i + 1]?.startsWith('+++ ') && lines[i + 2]?.startsWith('@@ ')) {
      add(stripPrefix(l.slice(4)));
      add(stripPrefix(lines[i + 1]!.slice(4)));
      i++;
    }
  }
  return out;
}
