/**
 * `kernel gc` on a real (small) cache folder: what goes (old trees, old
 * command-line kernels, superseded imports, earlier layouts, dangling
 * request entries) and what stays (recent trees, a tree a build holds, the
 * current kernel of a definition); the dry run; the automatic pass after a
 * build leaves earlier layouts alone.
 */
import t from 'tap';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withLock } from '../../harness/kbuild/build-lock.js';
import { autoGc, runGc } from '../../harness/kbuild/gc.js';
import { exists } from '../../harness/common/fs.js';
import { silentLogger } from '../../harness/common/log.js';
import { tempDir } from '../helpers/cli.js';

const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY);

async function file(path: string, content = 'x', days?: number) {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, content);
  if (days !== undefined) await utimes(path, ago(days), ago(days));
}
/** A folder last used `days` ago (its .last-used stamp). */
const used = (dir: string, days: number) => file(join(dir, '.last-used'), 'stamp\n', days);

async function makeCache(): Promise<string> {
  const c = await tempDir('gc-cache-');
  // Working trees: A old, B recent, C old but a build holds it.
  for (const [k, days] of [['treeA', 40], ['treeB', 2], ['treeC', 40]] as const) {
    await file(join(c, 'work', k, 'src', 'Makefile'), 'all:\n');
    await file(join(c, 'work', k, 'state.json'), '{}');
    await used(join(c, 'work', k), days);
    await file(join(c, 'work', k, 'obj', 'tinyconfig+ramdax-1', 'build.log'), 'log');
    await used(join(c, 'work', k, 'obj', 'tinyconfig+ramdax-1'), days);
  }
  // Finished kernels: one current for a definition (old, must stay), one from the command line (old, goes).
  const pinned = join(c, 'builds', 'source-7.2-aaaa');
  const adhoc = join(c, 'builds', 'tree-x-p1-bbbb');
  for (const [d, days] of [[pinned, 60], [adhoc, 60]] as const) {
    await file(join(d, 'vmlinuz'), 'bz');
    await file(join(d, 'manifest.json'), JSON.stringify({ dir: d, vmlinuz: join(d, 'vmlinuz') }));
    await used(d, days);
  }
  await file(join(c, 'kernels', 'source-7.2', 'current.json'), JSON.stringify({ name: 'source-7.2', dir: pinned }));
  await file(join(c, 'kernels', 'tree-x-p1', 'current.json'), JSON.stringify({ name: 'tree-x-p1', dir: adhoc, adhoc: { ref: '/x', kind: 'tree' } }));
  await file(join(c, 'builds', 'requests', 'r1.json'), JSON.stringify({ manifest: join(adhoc, 'manifest.json') }));
  await file(join(c, 'builds', 'requests', 'r2.json'), JSON.stringify({ manifest: join(pinned, 'manifest.json') }));
  // An imported kernel: the current release stays, a superseded old one goes.
  await file(join(c, 'kernels', 'debian-7.2', 'current.json'), JSON.stringify({ name: 'debian-7.2', dir: join(c, 'kernels', 'debian-7.2', 'rel-new') }));
  await file(join(c, 'kernels', 'debian-7.2', 'rel-new', 'vmlinuz'));
  await used(join(c, 'kernels', 'debian-7.2', 'rel-new'), 90);
  await file(join(c, 'kernels', 'debian-7.2', 'rel-old', 'vmlinuz'));
  await used(join(c, 'kernels', 'debian-7.2', 'rel-old'), 90);
  // What the earlier layout left.
  await file(join(c, 'sources', 'patched', 'old', 'Makefile'));
  await utimes(join(c, 'sources', 'patched', 'old'), ago(5), ago(5));
  await file(join(c, 'builds', 'obj', 'source-7.2-legacy', '.config'));
  await utimes(join(c, 'builds', 'obj', 'source-7.2-legacy'), ago(5), ago(5));
  return c;
}

const catalog = new Set(['source-7.2', 'debian-7.2']);

t.test('kernel gc: old and superseded go, current, recent and locked stay', async (t) => {
  const c = await makeCache();
  const dry = await runGc(c, catalog, { legacy: true, dryRun: true });
  t.ok(dry.remove.length > 0);
  t.ok(await exists(join(c, 'work', 'treeA')), 'a dry run removes nothing');

  let r!: Awaited<ReturnType<typeof runGc>>;
  await withLock(join(c, 'work', 'treeC'), 'a build', silentLogger, async () => {
    r = await runGc(c, catalog, { legacy: true });
  });
  const removed = r.remove.map((d) => d.item.path.slice(c.length + 1)).sort();
  t.same(removed, ['builds/obj/source-7.2-legacy', 'builds/tree-x-p1-bbbb', 'kernels/debian-7.2/rel-old', 'sources/patched/old', 'work/treeA'], 'the object folder goes with its tree, not listed twice');
  for (const gone of ['work/treeA', 'builds/tree-x-p1-bbbb', 'kernels/debian-7.2/rel-old', 'sources/patched/old', 'builds/obj/source-7.2-legacy']) t.notOk(await exists(join(c, gone)), `${gone} removed`);
  for (const kept of ['work/treeB', 'work/treeC', 'builds/source-7.2-aaaa', 'kernels/debian-7.2/rel-new', 'kernels/source-7.2/current.json']) t.ok(await exists(join(c, kept)), `${kept} kept`);
  t.same(await readdir(join(c, 'builds', 'requests')), ['r2.json'], "the request entry of the removed kernel is dropped");
  t.notOk(await exists(join(c, 'kernels', 'tree-x-p1')), 'and the command-line kernel name with it');
  t.ok(r.totalAfter < r.totalBefore);
});

t.test('the size cap removes the least recently used first', async (t) => {
  const c = await makeCache();
  const r = await runGc(c, catalog, { legacy: false, maxAgeMs: 365 * DAY, maxBytes: 0 });
  const order = r.remove.map((d) => d.item.path.slice(c.length + 1));
  t.ok(order.includes('work/treeB'), 'even a recent tree goes under a zero cap (used 2 days ago, more than the hour)');
  t.ok(order.indexOf('kernels/debian-7.2/rel-old') < order.indexOf('work/treeB'), 'older first');
  t.notOk(order.some((p) => p.startsWith('sources/patched') || p.startsWith('builds/obj')), 'earlier layouts only on an explicit kernel gc');
  t.ok(await exists(join(c, 'builds', 'source-7.2-aaaa')), 'the current kernel of a definition stays');
});

t.test('the automatic pass after a build: at most hourly, never the earlier layouts', async (t) => {
  const c = await makeCache();
  await autoGc(c, silentLogger, catalog);
  t.notOk(await exists(join(c, 'work', 'treeA')), 'the old tree went');
  t.ok(await exists(join(c, 'sources', 'patched', 'old')), 'the earlier layout stays (an older harness may be using it)');
  await file(join(c, 'work', 'treeD', 'state.json'), '{}');
  await used(join(c, 'work', 'treeD'), 40);
  await autoGc(c, silentLogger, catalog);
  t.ok(await exists(join(c, 'work', 'treeD')), 'not again within the hour');
});
