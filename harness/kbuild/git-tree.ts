import { execa } from 'execa';
import { readFile, rm } from 'node:fs/promises';
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

/**
 * Bring `dest`, a clone of `dir` owned by the cache, to `dir`'s HEAD plus its
 * uncommitted changes. `git checkout` rewrites only the files that differ, so
 * an out-of-tree build of `dest` stays incremental from one revision to the
 * next (what bisect needs). The clone borrows `dir`'s objects (`--shared`);
 * the user's tree is only read.
 */
export async function syncCheckout(dir: string, dest: string): Promise<void> {
  const head = (await host('git', ['-C', dir, 'rev-parse', 'HEAD'])).stdout.trim();
  const checkout = () => host('git', ['-C', dest, 'checkout', '-q', '-f', '--detach', head]);
  const fresh = async () => {
    await rm(dest, { recursive: true, force: true });
    await host('git', ['clone', '-q', '--shared', '--no-checkout', dir, dest]);
  };
  if (!(await exists(join(dest, '.git')))) await fresh();
  // A clone whose borrowed objects were pruned in the user's tree cannot check out: start again.
  await checkout().catch(async () => {
    await fresh();
    await checkout();
  });
  await host('git', ['-C', dest, 'clean', '-q', '-f', '-d', '-x']);
  await copyUncommitted(dir, dest);
}

/** Apply `dir`'s uncommitted diff and copy its untracked files into `dest`. */
async function copyUncommitted(dir: string, dest: string): Promise<void> {
  const diff = await execa('git', ['--no-optional-locks', '-C', dir, 'diff', 'HEAD', '--binary'], { encoding: 'buffer', stripFinalNewline: false });
  if (diff.stdout.length) await execa('git', ['apply', '--whitespace=nowarn', '-'], { cwd: dest, input: Buffer.from(diff.stdout) });
  const untracked = (await host('git', ['--no-optional-locks', '-C', dir, 'ls-files', '--others', '--exclude-standard', '-z'])).stdout.split('\0').filter(Boolean);
  if (untracked.length) await host('cp', ['--parents', '-a', '-t', dest, ...untracked], { cwd: dir });
}
