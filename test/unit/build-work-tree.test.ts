/**
 * The cache's working tree on real files (tiny trees, real git, real
 * `git apply`): one tree per source, patch series swapped in and out
 * rewriting only files whose content changes (the others keep their
 * mtime, so make leaves their objects alone), files of a dropped patch
 * back to pristine with a fresh mtime, the user's tree never written.
 */
import t from 'tap';
import { execa } from 'execa';
import { mkdir, readFile, stat, utimes, writeFile, rm, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { readPatchSeries } from '../../harness/kbuild/patch-series.js';
import { syncWorkTree, workTree, type SourceTree } from '../../harness/kbuild/work-tree.js';
import { InputError } from '../../harness/common/errors.js';
import { silentLogger } from '../../harness/common/log.js';
import { tempDir } from '../helpers/cli.js';

const env = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t.invalid' };
const log = silentLogger;

/** A diff that replaces line `from` by `to` in a one-line file. */
const oneLine = (file: string, from: string, to: string) => `--- a/${file}\n+++ b/${file}\n@@ -1 +1 @@\n-${from}\n+${to}\n`;
const mtime = async (p: string) => (await stat(p)).mtimeMs;
const old = new Date('2020-01-01T00:00:00Z');

async function patchFiles(dir: string, patches: Record<string, string>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, text] of Object.entries(patches)) {
    out[name] = join(dir, name);
    await writeFile(out[name]!, text);
  }
  return out;
}

t.test('a plain source tree: patch v1, v2, another patch, none', async (t) => {
  const user = await tempDir('wt-user-');
  const cache = await tempDir('wt-cache-');
  await writeFile(join(user, 'Makefile'), 'all:\n');
  await writeFile(join(user, 'driver.c'), 'int size = 128;\n');
  await writeFile(join(user, 'other.c'), 'int other;\n');
  await writeFile(join(user, 'script.sh'), '#!/bin/sh\n');
  await chmod(join(user, 'script.sh'), 0o755);
  // An in-tree build output must not reach the working tree (make O= would refuse the tree).
  await writeFile(join(user, '.config'), 'CONFIG_X=y\n');
  await writeFile(join(user, 'driver.o'), 'elf');
  for (const f of ['Makefile', 'driver.c', 'other.c']) await utimes(join(user, f), old, old);
  const p = await patchFiles(cache, {
    v1: oneLine('driver.c', 'int size = 128;', 'int size = 64;'),
    v2: oneLine('driver.c', 'int size = 128;', 'int size = 32;'),
    both: `${oneLine('driver.c', 'int size = 128;', 'int size = 32;')}${oneLine('other.c', 'int other;', 'int other = 1;')}`,
    other: oneLine('other.c', 'int other;', 'int other = 1;'),
    create: 'diff --git a/new.c b/new.c\nnew file mode 100644\n--- /dev/null\n+++ b/new.c\n@@ -0,0 +1 @@\n+int fresh;\n',
  });
  const wt = workTree(cache, 'plain-tree');
  const source: SourceTree = { dir: user, kind: 'plain', describe: 'test tree' };
  const series = (...names: string[]) => readPatchSeries(names.map((n) => p[n]!));

  const first = await syncWorkTree(wt, source, await series('v1'), log);
  t.ok(first.populated, 'the first sync creates the tree');
  t.equal(await readFile(join(wt.src, 'driver.c'), 'utf8'), 'int size = 64;\n', 'patched');
  t.equal(await readFile(join(user, 'driver.c'), 'utf8'), 'int size = 128;\n', "the user's tree is not written");
  t.equal(await mtime(join(wt.src, 'other.c')), old.getTime(), 'copied files keep the source mtime');
  t.ok(((await stat(join(wt.src, 'script.sh'))).mode & 0o111) !== 0, 'modes are kept');
  await t.rejects(stat(join(wt.src, '.config')), 'no .config from an in-tree build');
  await t.rejects(stat(join(wt.src, 'driver.o')), 'no objects from an in-tree build');

  const before = { driver: await mtime(join(wt.src, 'driver.c')), other: await mtime(join(wt.src, 'other.c')), make: await mtime(join(wt.src, 'Makefile')) };
  const same = await syncWorkTree(wt, source, await series('v1'), log);
  t.same(same.changed, [], 'the same series again rewrites nothing');
  t.equal(await mtime(join(wt.src, 'driver.c')), before.driver, 'the patched file keeps its mtime');

  const v2 = await syncWorkTree(wt, source, await series('v2'), log);
  t.same(v2.changed, ['driver.c'], 'patch v2 rewrites only the file it changes');
  t.equal(await readFile(join(wt.src, 'driver.c'), 'utf8'), 'int size = 32;\n');
  t.ok((await mtime(join(wt.src, 'driver.c'))) > before.driver, 'with a fresh mtime');
  t.equal(await mtime(join(wt.src, 'Makefile')), before.make, 'untouched files keep theirs');

  const afterV2 = await mtime(join(wt.src, 'driver.c'));
  const both = await syncWorkTree(wt, source, await series('both'), log);
  t.same(both.changed, ['other.c'], 'a series that keeps driver.c as it is and adds other.c rewrites only other.c');
  t.equal(await mtime(join(wt.src, 'driver.c')), afterV2, 'driver.c untouched');

  const dropped = await syncWorkTree(wt, source, await series('other'), log);
  t.same(dropped.changed, ['driver.c'], 'dropping the driver patch restores driver.c');
  t.equal(await readFile(join(wt.src, 'driver.c'), 'utf8'), 'int size = 128;\n', 'pristine content');
  t.ok((await mtime(join(wt.src, 'driver.c'))) > afterV2, 'with a fresh mtime, so make rebuilds it');
  t.equal(await readFile(join(user, 'driver.c'), 'utf8'), 'int size = 128;\n');

  await syncWorkTree(wt, source, await series('create'), log);
  t.equal(await readFile(join(wt.src, 'new.c'), 'utf8'), 'int fresh;\n', 'a patch can create a file');
  t.equal(await readFile(join(wt.src, 'other.c'), 'utf8'), 'int other;\n', 'and the previous patch is gone');
  const none = await syncWorkTree(wt, source, [], log);
  t.same(none.changed, ['new.c'], 'no patches: the created file goes away');
  await t.rejects(stat(join(wt.src, 'new.c')));

  // The user edits a file (and its mtime goes back in time: a restored backup): it is still picked up by content.
  await writeFile(join(user, 'other.c'), 'int other = 2;\n');
  await utimes(join(user, 'other.c'), old, new Date('2020-01-02T00:00:00Z'));
  const edited = await syncWorkTree(wt, source, [], log);
  t.same(edited.changed, ['other.c'], "a change in the user's tree is synced");
  t.equal(await readFile(join(wt.src, 'other.c'), 'utf8'), 'int other = 2;\n');
  await rm(join(user, 'Makefile'));
  t.same((await syncWorkTree(wt, source, [], log)).changed, ['Makefile'], 'a file removed from the source is removed');
});

t.test('a patch that does not apply is bad input naming the patch; the tree is left usable', async (t) => {
  const user = await tempDir('wt-user-');
  const cache = await tempDir('wt-cache-');
  await writeFile(join(user, 'Makefile'), 'all:\n');
  await writeFile(join(user, 'driver.c'), 'int size = 128;\n');
  const p = await patchFiles(cache, { good: oneLine('driver.c', 'int size = 128;', 'int size = 64;'), bad: oneLine('driver.c', 'int size = 999;', 'int size = 1;') });
  const wt = workTree(cache, 'x');
  const source: SourceTree = { dir: user, kind: 'plain', describe: 'my tree' };
  const err = await syncWorkTree(wt, source, await readPatchSeries([p.good!, p.bad!]), log).catch((e: unknown) => e);
  t.ok(err instanceof InputError, 'InputError (exit 2)');
  t.match(String((err as Error).message), new RegExp(`^${p.bad}:1:1: patch 2/2 .* does not apply to my tree after good`));
  const ok = await syncWorkTree(wt, source, await readPatchSeries([p.good!]), log);
  t.equal(await readFile(join(ok.src, 'driver.c'), 'utf8'), 'int size = 64;\n', 'the next sync works');
});

t.test('a git tree: tracked, untracked and uncommitted files; ignored build outputs stay out', async (t) => {
  const user = await tempDir('wt-git-');
  const cache = await tempDir('wt-cache-');
  const git = (...a: string[]) => execa('git', ['-C', user, ...a], { env });
  await git('init', '-q', '-b', 'main');
  await writeFile(join(user, 'Makefile'), 'all:\n');
  await writeFile(join(user, 'driver.c'), 'int size = 128;\n');
  await writeFile(join(user, '.gitignore'), '*.o\n.config\n');
  await git('add', '-A');
  await git('commit', '-q', '-m', 'one');
  await writeFile(join(user, 'driver.c'), 'int size = 64; /* dirty */\n');
  await writeFile(join(user, 'notes.txt'), 'untracked\n');
  await writeFile(join(user, 'driver.o'), 'elf');
  await writeFile(join(user, '.config'), 'CONFIG_X=y\n');
  const wt = workTree(cache, 'git-tree');
  const source: SourceTree = { dir: user, kind: 'git', describe: 'git tree' };
  await syncWorkTree(wt, source, [], log);
  t.equal(await readFile(join(wt.src, 'driver.c'), 'utf8'), 'int size = 64; /* dirty */\n', 'uncommitted change included');
  t.equal(await readFile(join(wt.src, 'notes.txt'), 'utf8'), 'untracked\n', 'untracked file included');
  await t.rejects(stat(join(wt.src, 'driver.o')), 'ignored object left out');
  await t.rejects(stat(join(wt.src, '.config')), 'ignored .config left out');
  const status = (await git('status', '--porcelain')).stdout;
  t.match(status, /^ M driver\.c$/m, "the user's tree keeps its change");
  const make = await mtime(join(wt.src, 'Makefile'));
  await git('checkout', '-q', '--', 'driver.c');
  await rm(join(user, 'notes.txt'));
  const r = await syncWorkTree(wt, source, [], log);
  t.same(r.changed, ['driver.c', 'notes.txt'], 'the revert and the removal are synced, nothing else');
  t.equal(await mtime(join(wt.src, 'Makefile')), make);
});

t.test('a cache-owned tree is hard-linked, and a patched file never writes through the link', async (t) => {
  const pristine = await tempDir('wt-pristine-');
  const cache = await tempDir('wt-cache-');
  await mkdir(join(pristine, 'drivers'), { recursive: true });
  await writeFile(join(pristine, 'Makefile'), 'all:\n');
  await writeFile(join(pristine, 'drivers/ramdax.c'), 'int size = 128;\n');
  const p = await patchFiles(cache, { fix: oneLine('drivers/ramdax.c', 'int size = 128;', 'int size = 64;') });
  const wt = workTree(cache, 'linux-source-test');
  const source: SourceTree = { dir: pristine, kind: 'cache', describe: 'pristine' };
  await syncWorkTree(wt, source, await readPatchSeries([p.fix!]), log);
  t.equal((await stat(join(wt.src, 'Makefile'))).ino, (await stat(join(pristine, 'Makefile'))).ino, 'unpatched files are hard links');
  t.equal(await readFile(join(wt.src, 'drivers/ramdax.c'), 'utf8'), 'int size = 64;\n');
  t.equal(await readFile(join(pristine, 'drivers/ramdax.c'), 'utf8'), 'int size = 128;\n', 'the pristine tree stays pristine');
  await syncWorkTree(wt, source, [], log);
  t.equal(await readFile(join(wt.src, 'drivers/ramdax.c'), 'utf8'), 'int size = 128;\n', 'back to pristine');
  t.equal(await readFile(join(pristine, 'drivers/ramdax.c'), 'utf8'), 'int size = 128;\n');
});

t.test('an interrupted sync is repaired by checking every file', async (t) => {
  const user = await tempDir('wt-user-');
  const cache = await tempDir('wt-cache-');
  await writeFile(join(user, 'Makefile'), 'all:\n');
  await writeFile(join(user, 'a.c'), 'a\n');
  const wt = workTree(cache, 'crash');
  const source: SourceTree = { dir: user, kind: 'plain', describe: 'tree' };
  await syncWorkTree(wt, source, [], log);
  // Simulate a crash: the state says "syncing", and the tree holds a stray and a wrong file.
  const state = JSON.parse(await readFile(wt.state, 'utf8'));
  await writeFile(wt.state, JSON.stringify({ ...state, syncing: true }));
  await writeFile(join(wt.src, 'a.c'), 'half-written\n');
  await writeFile(join(wt.src, 'stray.c'), 'x\n');
  const r = await syncWorkTree(wt, source, [], log);
  t.same(r.changed, ['a.c', 'stray.c']);
  t.equal(await readFile(join(wt.src, 'a.c'), 'utf8'), 'a\n');
  await t.rejects(stat(join(wt.src, 'stray.c')));
});
