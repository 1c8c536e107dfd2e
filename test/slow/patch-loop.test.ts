/**
 * The patch loop on a developer's git tree: `run --kernel TREE --patch
 * 0001-….patch --quick`. The tree is the seeded history the bisect test
 * uses (its HEAD carries a bug: ramdax's label area shrunk to 64 KiB, so
 * the quick suite's "label areas read back as 128 KiB" fails); the patch
 * fixes it. The kernel is built out of tree in the cache's working tree for
 * that tree (the same one bisect builds in, so CI pays no second cold
 * build), the quick suite passes, the result records the tree's revision
 * and the patch's hashes, and the tree itself is never written. A second
 * version of the patch (new in every run) then rebuilds incrementally (only ramdax.c).
 */
import t from 'tap';
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultCacheDir } from '../../harness/common/paths.js';
import { cli, parseTap, tempDir } from '../helpers/cli.js';
import { RAMDAX, seededTree } from '../helpers/seeded-tree.js';

t.setTimeout(4 * 3_600_000);
const cacheDir = defaultCacheDir();
const { tree, commits, git } = await seededTree(cacheDir);
const head = commits.at(-1)!;
const before = { mtime: (await stat(join(tree, RAMDAX))).mtimeMs, status: (await git(['status', '--porcelain'])).stdout };

const dir = await tempDir('ramdax-patch-loop-');
const fix = (v: number, extra = '') => `From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001
From: Dev Eloper <dev@example.org>
Subject: [PATCH${v > 1 ? ` v${v}` : ''}] ramdax: restore the 128 KiB label area

---
diff --git a/${RAMDAX} b/${RAMDAX}
--- a/${RAMDAX}
+++ b/${RAMDAX}
@@ -17,7 +17,7 @@
 
 #include <uapi/linux/ndctl.h>
 
-#define LABEL_AREA_SIZE\tSZ_64K
+#define LABEL_AREA_SIZE\tSZ_128K${extra}
 
 struct ramdax_dimm {
 \tstruct nvdimm *nvdimm;
`;
const v1 = join(dir, '0001-ramdax-restore-the-128-KiB-label-area.patch');
const v2 = join(dir, 'v2-0001-ramdax-restore-the-128-KiB-label-area.patch');
await writeFile(v1, fix(1));
// A comment that differs per run: v2 is never a build the cache has seen (a cached build would prove nothing incremental).
await writeFile(v2, fix(2, `\t/* labels: 128 KiB (run ${randomBytes(4).toString('hex')}) */`));

const results = join(dir, 'results');
const run = await cli(['run', '--kernel', tree, '--patch', v1, '--quick', '--results', results], { timeoutMs: 3 * 3_600_000 });

t.test('the quick suite passes on the tree with the fix applied', async (t) => {
  t.equal(run.exitCode, 0, `exit 0 (stderr tail:\n${String(run.stderr).split('\n').slice(-25).join('\n')})`);
  const tap = await parseTap(String(run.stdout));
  t.ok(tap.ok);
  t.equal(tap.nested.get('ramdax-quick > both label areas read back as 128 KiB'), true, 'the label area is back to 128 KiB');
  t.match(String(run.stderr), /patch 0001-ramdax-restore-the-128-KiB-label-area\.patch: \[PATCH\] ramdax: restore the 128 KiB label area \(sha256 [0-9a-f]{12}, patch-id [0-9a-f]{12}\)/);
});

t.test('the result records the tree revision and the patch by hash and patch-id', async (t) => {
  const runDir = join(results, (await readdir(results)).sort().at(-1)!);
  const k = JSON.parse(await readFile(join(runDir, 'results.json'), 'utf8')).cases[0].kernel;
  t.match(k.name, /^tree-test-bisect-tree-[0-9a-f]{8}-p[0-9a-f]{8}$/);
  t.equal(k.kind, 'source');
  t.equal(k.build.revision, head, 'the tree at its HEAD, clean');
  t.equal(k.build.patches.length, 1);
  t.equal(k.build.patches[0].file, v1);
  t.equal(k.build.patches[0].subject, '[PATCH] ramdax: restore the 128 KiB label area');
  const id = (await execa('git', ['patch-id', '--stable'], { input: await readFile(v1) })).stdout.split(' ')[0];
  t.equal(k.build.patches[0].patchId, id, 'git patch-id --stable');
  t.match(k.sha256.vmlinuz, /^[0-9a-f]{64}$/);
});

t.test("the user's tree was only read", async (t) => {
  t.equal((await git(['rev-parse', 'HEAD'])).stdout.trim(), head);
  t.equal((await git(['status', '--porcelain'])).stdout, before.status, 'no changes, no build outputs');
  t.equal((await stat(join(tree, RAMDAX))).mtimeMs, before.mtime, 'ramdax.c untouched');
  t.match(await readFile(join(tree, RAMDAX), 'utf8'), /#define LABEL_AREA_SIZE\tSZ_64K/, 'the bug is still in the tree');
});

t.test('a second version of the patch rebuilds only ramdax.c', async (t) => {
  const build = await cli(['kernel', 'build', tree, '--patch', v2], { timeoutMs: 3_600_000 });
  t.equal(build.exitCode, 0, build.stderr);
  t.match(String(build.stderr), /work tree: 1 file\(s\) rewritten \(drivers\/nvdimm\/ramdax\.c\)/);
  const name = /^kernel (\S+):/m.exec(String(build.stdout))?.[1];
  const a = JSON.parse(await readFile(join(cacheDir, 'kernels', name!, 'current.json'), 'utf8'));
  t.ok(a.build.objects >= 1 && a.build.objects <= 5, `${a.build.objects} C file(s) compiled`);
  t.ok(a.build.configReused, 'Kconfig was not run again');
  t.same(a.build.synced.files, [RAMDAX]);
  t.equal((await stat(join(tree, RAMDAX))).mtimeMs, before.mtime, 'the tree is still untouched');
});
