import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { infraError } from '../common/errors.js';
import { host } from '../common/exec.js';
import { exists } from '../common/fs.js';
import { sha256 } from '../common/hash.js';

export interface TreeRevision {
  /** `git rev-parse HEAD`, or null for a plain (non-git) folder. */
  head: string | null;
  /** Hash of uncommitted changes (tracked diff + untracked files), or null when clean. */
  dirty: string | null;
}

export const describeRevision = (r: TreeRevision) => (r.head ?? 'no-git') + (r.dirty ? `+dirty.${r.dirty.slice(0, 12)}` : '');

export const isGitTree = (dir: string) => exists(join(dir, '.git'));

/** The revision of the user's tree, read-only: nothing in it is written. */
export async function treeRevision(dir: string): Promise<TreeRevision> {
  if (!(await exists(join(dir, 'Makefile')))) throw infraError(`${dir} is not a kernel source tree (no Makefile)`);
  if (!(await isGitTree(dir))) return { head: null, dirty: null };
  const head = (await host('git', ['-C', dir, 'rev-parse', 'HEAD'])).stdout.trim();
  // --no-optional-locks: reading must not even refresh the user's index.
  const diff = await execa('git', ['--no-optional-locks', '-C', dir, 'diff', 'HEAD', '--binary'], { encoding: 'buffer', stripFinalNewline: false });
  const untracked = (await host('git', ['--no-optional-locks', '-C', dir, 'ls-files', '--others', '--exclude-standard', '-z'])).stdout
    .split('\0')
    .filter(Boolean)
    .sort();
  if (diff.stdout.length === 0 && untracked.length === 0) return { head, dirty: null };
  const parts: (string | Buffer)[] = [Buffer.from(diff.stdout)];
  for (const f of untracked) parts.push(f, await readFile(join(dir, f)).catch(() => Buffer.alloc(0)));
  return { head, dirty: sha256(...parts) };
}
