import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { InputError, type SourcePos } from '../common/errors.js';
import { sha256 } from '../common/hash.js';
import { hasDiff, mailSubject, splitMbox, touchedPaths, transferEncoding } from './patch-text.js';

/** One patch of a series, as applied and as recorded with the kernel it went into. */
export interface SeriesPatch {
  /** The file it came from (absolute). */
  file: string;
  /** Position among the patches of that file (1-based; an mbox holds several). */
  index: number;
  /** Line of the file where its mail starts. */
  line: number;
  /** The Subject header, else the file name. */
  subject: string;
  /** The mail (or diff) text, exactly as in the file. */
  content: Buffer;
  sha256: string;
  /** `git patch-id --stable`: the same change keeps its id across rebases and mail headers. */
  patchId?: string;
  /** Files it reads or writes (a/ b/ stripped). */
  paths: string[];
}

/** What a kernel records about each patch it was built with. */
export type PatchRecord = Pick<SeriesPatch, 'file' | 'index' | 'subject' | 'sha256' | 'patchId'>;

export const patchRecord = (p: SeriesPatch): PatchRecord => ({ file: p.file, index: p.index, subject: p.subject, sha256: p.sha256, ...(p.patchId ? { patchId: p.patchId } : {}) });

/** A short name for logs: `fix.patch` or `series.mbx#2`. */
export const patchLabel = (p: Pick<SeriesPatch, 'file' | 'index'>, many = false) => `${basename(p.file)}${many || p.index > 1 ? `#${p.index}` : ''}`;

/**
 * Read patch files in order: each `git format-patch` file, plain diff or
 * mbox (`b4 am`, `git format-patch --stdout`) gives its patches in the
 * order they appear; mails without a diff (a cover letter) are skipped.
 * Unreadable files, files without any diff and encoded mails are bad input
 * (exit 2), reported together before anything is built.
 */
export async function readPatchSeries(files: readonly string[]): Promise<SeriesPatch[]> {
  const out: SeriesPatch[] = [];
  const problems: { pos: SourcePos; message: string }[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      problems.push({ pos: { file, line: 1, col: 1 }, message: `cannot read the patch (${err.code ?? err.message})` });
      return undefined;
    });
    if (text === undefined) continue;
    let index = 0;
    for (const part of splitMbox(text)) {
      const enc = transferEncoding(part.text);
      if (enc && enc !== '7bit' && enc !== '8bit' && enc !== 'binary') {
        problems.push({ pos: { file, line: part.line, col: 1 }, message: `this mail is ${enc}-encoded; save the patch decoded (b4 am, git format-patch and most mail clients' "save as patch" do)` });
        continue;
      }
      if (!hasDiff(part.text)) continue; // cover letter, or prose between patches
      const paths = touchedPaths(part.text);
      const unsafe = paths.find((q) => q.startsWith('/') || q.split('/').includes('..'));
      if (unsafe) {
        problems.push({ pos: { file, line: part.line, col: 1 }, message: `the patch touches '${unsafe}', outside the kernel tree` });
        continue;
      }
      index++;
      const content = Buffer.from(part.text);
      out.push({ file, index, line: part.line, subject: mailSubject(part.text) ?? basename(file), content, sha256: sha256(content), paths });
    }
    if (index === 0 && !problems.some((p) => p.pos.file === file)) problems.push({ pos: { file, line: 1, col: 1 }, message: 'no patch in this file (no `diff --git` or ---/+++ hunk)' });
  }
  if (problems.length) throw new InputError(problems);
  await Promise.all(out.map(async (p) => (p.patchId = await patchId(p.content))));
  return out;
}

/** `git patch-id --stable` of one patch (undefined when git cannot say). */
async function patchId(content: Buffer): Promise<string | undefined> {
  const r = await execa('git', ['patch-id', '--stable'], { input: content, reject: false });
  return r.exitCode === 0 ? String(r.stdout).split(' ')[0] || undefined : undefined;
}
