/**
 * Real bisect: a six-commit history made from Debian's linux-source-7.2
 * (commit 1 pristine, harmless commits, one that shrinks ramdax's label area
 * to 64 KiB — ramdax-bind's "label area reads back as 131072" then fails —
 * more harmless commits). `ramdax-harness bisect` must name the seeded
 * commit, confirm it (3 fails, parent 3 passes) and leave the tree as found.
 *
 * Cost: the first run builds the tree once from scratch (the long pole:
 * see bench/kernel-build.ts); the tree path and the commit dates are fixed,
 * so later runs find the same commits and reuse their cached bzImages.
 */
import t from 'tap';
import { execa } from 'execa';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDebianSource } from '../../harness/kbuild/debian-source.js';
import { exists } from '../../harness/common/fs.js';
import { stderrLogger } from '../../harness/common/log.js';
import { defaultCacheDir } from '../../harness/common/paths.js';
import { cli, tempDir } from '../helpers/cli.js';

t.setTimeout(6 * 3_600_000);
const cacheDir = defaultCacheDir();
const src = await ensureDebianSource('7.2', ['sid', 'trixie-backports'], cacheDir, stderrLogger('bisect-test'));
const tree = join(cacheDir, 'test-bisect-tree');
const env = {
  GIT_AUTHOR_NAME: 'ramdax-harness test', GIT_AUTHOR_EMAIL: 'test@ramdax-harness.invalid',
  GIT_COMMITTER_NAME: 'ramdax-harness test', GIT_COMMITTER_EMAIL: 'test@ramdax-harness.invalid',
};
const git = (args: string[], date?: string) =>
  execa('git', ['-C', tree, ...args], { env: date ? { ...env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } : env });

/** Replace a file (new inode): the tree is a hard-linked copy of the cached source, which must stay pristine. */
async function replaceFile(rel: string, content: string) {
  const p = join(tree, rel);
  await writeFile(`${p}.new`, content);
  await rename(`${p}.new`, p);
}

const messages = [
  'pristine linux-source-7.2',
  'notes: a harmless file',
  'ramdax: touch a comment (harmless)',
  'ramdax: shrink the label area (the seeded bug)',
  'notes: another harmless file',
  'notes: one more harmless file',
];
const commits: string[] = [];
const ramdax = 'drivers/nvdimm/ramdax.c';

/** A history left by an earlier run (same dates, so same commits) is reused: `git add` of 80k files is slow. */
async function reusable(): Promise<boolean> {
  if (!(await exists(join(tree, '.git')))) return false;
  const log = await git(['log', '--format=%H %s', 'main']).catch(() => undefined);
  const lines = log?.stdout.trim().split('\n').reverse() ?? [];
  if (lines.map((l) => l.slice(41)).join('\n') !== messages.join('\n')) return false;
  if ((await git(['status', '--porcelain'])).stdout.trim() !== '' || (await exists(join(tree, '.git', 'BISECT_LOG')))) return false;
  if ((await git(['ls-files'])).stdout.split('\n').length < 1000) return false;
  commits.push(...lines.map((l) => l.slice(0, 40)));
  return true;
}

if (!(await reusable())) {
  await rm(tree, { recursive: true, force: true });
  await execa('cp', ['-al', src.dir, tree]);
  await git(['init', '-q', '-b', 'main']);
  // -f: Debian's linux-source .gitignore ignores everything at the top level (`/*`, `!/debian/`).
  await git(['add', '-A', '-f']);
  const commit = async (msg: string, i: number) => {
    await git(['commit', '-q', '--allow-empty', '-m', msg], `2026-01-0${i}T00:00:00Z`);
    commits.push((await git(['rev-parse', 'HEAD'])).stdout.trim());
  };
  await commit(messages[0]!, 1);
  await mkdir(join(tree, 'notes'), { recursive: true });
  await writeFile(join(tree, 'notes/one.txt'), 'a harmless change\n');
  await git(['add', '-f', 'notes']);
  await commit(messages[1]!, 2);
  const original = await readFile(join(tree, ramdax), 'utf8');
  await replaceFile(ramdax, original.replace(' * Copyright (c) 2025, Mike Rapoport, Microsoft', ' * Copyright (c) 2025, Mike Rapoport, Microsoft (comment touched)'));
  await git(['add', '-f', ramdax]);
  await commit(messages[2]!, 3);
  const seeded = (await readFile(join(tree, ramdax), 'utf8')).replace('#define LABEL_AREA_SIZE\tSZ_128K', '#define LABEL_AREA_SIZE\tSZ_64K');
  t.not(seeded, await readFile(join(tree, ramdax), 'utf8'), 'the bug seed changed ramdax.c');
  await replaceFile(ramdax, seeded);
  await git(['add', '-f', ramdax]);
  await commit(messages[3]!, 4);
  await writeFile(join(tree, 'notes/two.txt'), 'another harmless change\n');
  await git(['add', '-f', 'notes']);
  await commit(messages[4]!, 5);
  await writeFile(join(tree, 'notes/three.txt'), 'and one more\n');
  await git(['add', '-f', 'notes']);
  await commit(messages[5]!, 6);
}

const results = await tempDir('ramdax-bisect-');
const run = await cli(
  ['bisect', '--tree', tree, '--good', commits[0]!, '--bad', 'main', '--case', 'ramdax-bind', '--kernel', 'source-7.2', '--scenario', 'scenarios/ramdax-bind.yaml', '--results', results],
  { timeoutMs: 6 * 3_600_000 },
);

t.test('bisect names the seeded commit and confirms it', async (t) => {
  t.equal(run.exitCode, 0, `exit 0 (stderr tail:\n${String(run.stderr).split('\n').slice(-25).join('\n')})`);
  t.match(String(run.stdout), new RegExp(`^first bad commit: ${commits[3]} ramdax: shrink the label area`, 'm'));
  t.match(String(run.stdout), /failed 3\/3, its parent [0-9a-f]{12} passed 3\/3: confirmed/);
  t.match(String(run.stderr), /bisect-step: (good|bad)/, 'steps ran through the harness');
  t.match((await git(['show', commits[3]!, '--', ramdax])).stdout, /^\+#define LABEL_AREA_SIZE\tSZ_64K$/m, 'the named commit is the one that seeds the bug');
});

t.test('the tree is restored', async (t) => {
  t.equal((await git(['rev-parse', 'HEAD'])).stdout.trim(), commits[5], 'HEAD is back on the last commit');
  t.equal((await git(['symbolic-ref', 'HEAD'])).stdout.trim(), 'refs/heads/main', 'on the branch again');
  t.notOk(await exists(join(tree, '.git', 'BISECT_LOG')), 'no bisect in progress');
  t.equal((await git(['status', '--porcelain'])).stdout.trim(), '', 'no changes left in the tree');
});

t.test('the cached source tree stayed pristine', async (t) => {
  t.match(await readFile(join(src.dir, ramdax), 'utf8'), /#define LABEL_AREA_SIZE\tSZ_128K/);
});
