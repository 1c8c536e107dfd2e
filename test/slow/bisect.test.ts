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
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exists } from '../../harness/common/fs.js';
import { defaultCacheDir } from '../../harness/common/paths.js';
import { cli, tempDir } from '../helpers/cli.js';
import { RAMDAX as ramdax, seededTree } from '../helpers/seeded-tree.js';

t.setTimeout(6 * 3_600_000);
const cacheDir = defaultCacheDir();
const { tree, source, commits, git } = await seededTree(cacheDir, (seeded, before) => t.not(seeded, before, 'the bug seed changed ramdax.c'));
const src = { dir: source };

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
