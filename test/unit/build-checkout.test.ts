/**
 * patchedTree on a git tree: one cache-owned checkout per tree, synced with
 * git so that files a revision does not change keep their mtime (make then
 * rebuilds only what changed: what makes bisect steps incremental), the
 * user's uncommitted changes and the patch series applied, the user's tree
 * never written. Real git on a tiny repository.
 */
import t from 'tap';
import { execa } from 'execa';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { patchedTree } from '../../harness/kbuild/patches.js';
import { silentLogger } from '../../harness/common/log.js';
import { tempDir } from '../helpers/cli.js';

const env = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t.invalid' };
const user = await tempDir('checkout-user-');
const cache = await tempDir('checkout-cache-');
const git = async (...args: string[]) => (await execa('git', ['-C', user, ...args], { env })).stdout.trim();

await git('init', '-q', '-b', 'main');
await writeFile(join(user, 'Makefile'), 'all:\n');
await writeFile(join(user, 'driver.c'), 'int size = 128;\n');
await writeFile(join(user, 'other.c'), 'int other;\n');
await git('add', '-A');
await git('commit', '-q', '-m', 'first');
const first = await git('rev-parse', 'HEAD');

const patchFile = join(cache, 'marker.patch');
await writeFile(patchFile, '--- a/other.c\n+++ b/other.c\n@@ -1 +1,2 @@\n int other;\n+int marker;\n');
const patches = [{ path: patchFile, content: await readFile(patchFile) }];
const log = silentLogger;

const dest = await patchedTree(user, first, patches, cache, log);
const makefileMtime = (await stat(join(dest, 'Makefile'))).mtimeMs;

t.test('the first revision is checked out and patched', async (t) => {
  t.equal(await readFile(join(dest, 'driver.c'), 'utf8'), 'int size = 128;\n');
  t.equal(await readFile(join(dest, 'other.c'), 'utf8'), 'int other;\nint marker;\n', 'the patch is applied');
  t.equal(await readFile(join(user, 'other.c'), 'utf8'), 'int other;\n', "the user's tree is not patched");
});

t.test('the next revision lands in the same place and rewrites only what changed', async (t) => {
  await writeFile(join(user, 'driver.c'), 'int size = 64;\n');
  await git('commit', '-q', '-am', 'second');
  await writeFile(join(user, 'notes.txt'), 'untracked\n');
  await writeFile(join(user, 'driver.c'), 'int size = 64; /* dirty */\n');
  const again = await patchedTree(user, 'second+dirty', patches, cache, log);
  t.equal(again, dest, 'one checkout per tree');
  t.equal(await readFile(join(dest, 'driver.c'), 'utf8'), 'int size = 64; /* dirty */\n', 'the new commit plus the uncommitted change');
  t.equal(await readFile(join(dest, 'notes.txt'), 'utf8'), 'untracked\n', 'untracked files are copied');
  t.equal(await readFile(join(dest, 'other.c'), 'utf8'), 'int other;\nint marker;\n', 'the patch again');
  t.equal((await stat(join(dest, 'Makefile'))).mtimeMs, makefileMtime, 'an unchanged file keeps its mtime');
  const status = await git('status', '--porcelain');
  t.match(status, /^\s?M driver\.c$/m, "the user's tree keeps its uncommitted change");
  t.match(status, /^\?\? notes\.txt$/m, "the user's tree keeps its untracked file");
});

t.test('going back to an older revision removes what a later one added', async (t) => {
  await execa('rm', [join(user, 'notes.txt')]);
  await git('checkout', '-q', '-f', first);
  await patchedTree(user, first, patches, cache, log);
  t.equal(await readFile(join(dest, 'driver.c'), 'utf8'), 'int size = 128;\n');
  await t.rejects(stat(join(dest, 'notes.txt')), 'the untracked file of the other revision is gone');
});
