import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';

let tmpCounter = 0;

/** A temp name next to `path` that no other write — in this process or another — can pick: pid, a counter and 6 random bytes. */
export function tempNameFor(path: string): string {
  return `${path}.tmp-${process.pid}-${++tmpCounter}-${randomBytes(6).toString('hex')}`;
}

/**
 * Write a file so that readers see either the old or the new content, never
 * half, and it survives a crash of the host once this resolves: data written
 * to a temp file of its own and fsynced, renamed over the target, and the
 * folder fsynced so that the rename itself is on disk.
 */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempNameFor(path);
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dirname(path));
}

/** fsync a folder (its entries: a rename or a new file in it); some file systems refuse it, which is fine. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r').catch(() => undefined);
  if (!fh) return;
  try {
    await fh.sync();
  } catch {
    // EINVAL on file systems that cannot sync a folder
  } finally {
    await fh.close();
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Every file below `dir`, as sorted paths relative to it. */
export async function listFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p, base)));
    else out.push(relative(base, p));
  }
  return out.sort();
}
