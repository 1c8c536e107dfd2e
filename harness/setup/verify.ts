/**
 * Cached artifacts are checked before they are booted, not trusted because
 * they exist. Each file (vmlinuz, initrd, modules disk, root image) has a
 * recorded sha256; its size and mtime are recorded too (the cheap path): a
 * file whose size and mtime still match is taken as is, one that differs —
 * or every file with `--verify` — is hashed in full. A file that is missing or
 * whose hash differs is corrupted; the caller fetches or builds it again.
 */
import { stat, utimes } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { sha256File } from '../common/hash.js';
import { writeManifest, type FileStamp, type ImageArtifact, type KernelArtifact, type Stamps } from './artifacts.js';

export type { FileStamp, Stamps } from './artifacts.js';

export interface CheckedFile {
  path: string;
  sha256: string;
}

export interface FileVerdict {
  path: string;
  state: 'ok' | 'hashed-ok' | 'missing' | 'corrupted';
  detail?: string;
}

/** The files of a kernel artifact that have a recorded sha256. */
export function kernelFiles(k: KernelArtifact): CheckedFile[] {
  const paths: Record<string, string | undefined> = { vmlinuz: k.vmlinuz, 'initrd.img': k.initrd, 'modules.img': k.modulesDisk };
  return Object.entries(k.sha256)
    .filter(([name]) => paths[name])
    .map(([name, sha]) => ({ path: paths[name]!, sha256: sha }));
}

export const imageFiles = (i: ImageArtifact): CheckedFile[] => [{ path: i.rootfs, sha256: i.sha256 }];

export async function stampOf(path: string): Promise<FileStamp> {
  const st = await stat(path);
  return { size: st.size, mtimeMs: st.mtimeMs };
}

/** Check `files` against their stamps (or in full); returns one verdict per file. */
export async function checkFiles(files: CheckedFile[], stamps: Stamps | undefined, full: boolean): Promise<FileVerdict[]> {
  const out: FileVerdict[] = [];
  for (const f of files) {
    const now = await stampOf(f.path).catch(() => undefined);
    if (!now) {
      out.push({ path: f.path, state: 'missing', detail: 'the file is missing' });
      continue;
    }
    const was = stamps?.[f.path];
    // mtime to the millisecond (what utimes can set back; a write lands later than that anyway).
    if (!full && was && was.size === now.size && Math.trunc(was.mtimeMs) === Math.trunc(now.mtimeMs)) {
      out.push({ path: f.path, state: 'ok' });
      continue;
    }
    const why = !was ? 'no size/mtime recorded yet' : full ? '--verify' : was.size !== now.size ? `size ${now.size} bytes, recorded ${was.size}` : 'modified since it was recorded';
    const sum = await sha256File(f.path);
    out.push(
      sum === f.sha256
        ? { path: f.path, state: 'hashed-ok', detail: why }
        : { path: f.path, state: 'corrupted', detail: `${why}; sha256 ${sum.slice(0, 12)}…, recorded ${f.sha256.slice(0, 12)}…` },
    );
  }
  return out;
}

/** Stamps for files that hashed fine: the next check takes the cheap path. */
export async function freshStamps(verdicts: FileVerdict[], old: Stamps | undefined): Promise<Stamps> {
  const stamps: Stamps = { ...old };
  for (const v of verdicts) if (v.state === 'hashed-ok' || v.state === 'ok') stamps[v.path] = await stampOf(v.path);
  return stamps;
}

/** One line per bad file, for the message. */
export const describeBad = (verdicts: FileVerdict[]) =>
  verdicts
    .filter((v) => v.state === 'missing' || v.state === 'corrupted')
    .map((v) => `${basename(v.path)} ${v.state === 'missing' ? 'is missing' : `does not match its recorded sha256 (${v.detail})`}`)
    .join('; ');

/** Keep the stamps in the artifact's manifest and in its `current` pointer (both copies of one record). */
export async function recordStamps<T extends { stamps?: Stamps }>(artifact: T, stamps: Stamps, manifests: string[]): Promise<T> {
  const updated = { ...artifact, stamps };
  for (const m of manifests) await writeManifest(m, updated);
  return updated;
}

/** For tests: set a file's mtime back to what was recorded (same size, same mtime, other bytes). */
export async function restoreStamp(path: string, s: FileStamp): Promise<void> {
  await utimes(path, Date.now() / 1000, s.mtimeMs / 1000);
}

export const manifestOf = (dir: string) => join(dir, 'manifest.json');
