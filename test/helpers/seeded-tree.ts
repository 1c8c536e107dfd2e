/**
 * A git history made from Debian's linux-source-7.2 for the slow tests
 * (bisect, patch loop): commit 1 pristine, harmless commits, commit 4
 * shrinks ramdax's label area to 64 KiB (ramdax-bind's and the quick
 * suite's "label area reads back as 128 KiB" then fail), more harmless
 * commits. The tree path and commit dates are fixed, so every test and
 * every run finds the same commits — and the same working tree and object
 * folder in the cache (CACHE/work/test-bisect-tree-…): the cold build is
 * paid once.
 */
import { execa } from 'execa';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDebianSource } from '../../harness/kbuild/debian-source.js';
import { exists } from '../../harness/common/fs.js';
import { stderrLogger } from '../../harness/common/log.js';

export const RAMDAX = 'drivers/nvdimm/ramdax.c';
export const MESSAGES = [
  'pristine linux-source-7.2',
  'notes: a harmless file',
  'ramdax: touch a comment (harmless)',
  'ramdax: shrink the label area (the seeded bug)',
  'notes: another harmless file',
  'notes: one more harmless file',
];
const ENV = {
  GIT_AUTHOR_NAME: 'ramdax-harness test', GIT_AUTHOR_EMAIL: 'test@ramdax-harness.invalid',
  GIT_COMMITTER_NAME: 'ramdax-harness test', GIT_COMMITTER_EMAIL: 'test@ramdax-harness.invalid',
};

export interface SeededTree {
  tree: string;
  /** The pristine source it was made from (must stay pristine). */
  source: string;
  commits: string[];
  git: (args: string[], date?: string) => Promise<{ stdout: string }>;
}

/** The seeded history under CACHE/test-bisect-tree, made once and reused while it is intact (`git add` of 80k files is slow). */
export async function seededTree(cacheDir: string, check?: (seeded: string, before: string) => void): Promise<SeededTree> {
  const src = await ensureDebianSource('7.2', ['sid', 'trixie-backports'], cacheDir, stderrLogger('seeded-tree'));
  const tree = join(cacheDir, 'test-bisect-tree');
  const git = async (args: string[], date?: string) => ({ stdout: String((await execa('git', ['-C', tree, ...args], { env: date ? { ...ENV, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } : ENV })).stdout) });
  const commits: string[] = [];

  const reusable = async (): Promise<boolean> => {
    if (!(await exists(join(tree, '.git')))) return false;
    const log = await git(['log', '--format=%H %s', 'main']).catch(() => undefined);
    const lines = (log?.stdout ?? '').trim().split('\n').reverse();
    if (lines.map((l) => l.slice(41)).join('\n') !== MESSAGES.join('\n')) return false;
    if ((await git(['status', '--porcelain'])).stdout.trim() !== '' || (await exists(join(tree, '.git', 'BISECT_LOG')))) return false;
    if ((await git(['ls-files'])).stdout.split('\n').length < 1000) return false;
    commits.push(...lines.map((l) => l.slice(0, 40)));
    return true;
  };
  if (await reusable()) return { tree, source: src.dir, commits, git };

  /** Replace a file (new inode): the tree is a hard-linked copy of the cached source, which must stay pristine. */
  const replaceFile = async (rel: string, content: string) => {
    const p = join(tree, rel);
    await writeFile(`${p}.new`, content);
    await rename(`${p}.new`, p);
  };
  await rm(tree, { recursive: true, force: true });
  await execa('cp', ['-al', src.dir, tree]);
  await git(['init', '-q', '-b', 'main']);
  // -f: Debian's linux-source .gitignore ignores everything at the top level (`/*`, `!/debian/`).
  await git(['add', '-A', '-f']);
  const commit = async (i: number) => {
    await git(['commit', '-q', '--allow-empty', '-m', MESSAGES[i]!], `2026-01-0${i + 1}T00:00:00Z`);
    commits.push((await git(['rev-parse', 'HEAD'])).stdout.trim());
  };
  await commit(0);
  await mkdir(join(tree, 'notes'), { recursive: true });
  await writeFile(join(tree, 'notes/one.txt'), 'a harmless change\n');
  await git(['add', '-f', 'notes']);
  await commit(1);
  const original = await readFile(join(tree, RAMDAX), 'utf8');
  await replaceFile(RAMDAX, original.replace(' * Copyright (c) 2025, Mike Rapoport, Microsoft', ' * Copyright (c) 2025, Mike Rapoport, Microsoft (comment touched)'));
  await git(['add', '-f', RAMDAX]);
  await commit(2);
  const before = await readFile(join(tree, RAMDAX), 'utf8');
  const seeded = before.replace('#define LABEL_AREA_SIZE\tSZ_128K', '#define LABEL_AREA_SIZE\tSZ_64K');
  check?.(seeded, before);
  await replaceFile(RAMDAX, seeded);
  await git(['add', '-f', RAMDAX]);
  await commit(3);
  await writeFile(join(tree, 'notes/two.txt'), 'another harmless change\n');
  await git(['add', '-f', 'notes']);
  await commit(4);
  await writeFile(join(tree, 'notes/three.txt'), 'and one more\n');
  await git(['add', '-f', 'notes']);
  await commit(5);
  return { tree, source: src.dir, commits, git };
}
