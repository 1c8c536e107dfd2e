/** Planning the working tree's sync and the build cache's gc: pure. */
import t from 'tap';
import { affectsConfig, planMirror, planOverlay } from '../../harness/kbuild/sync-plan.js';
import { planGc, type GcItem } from '../../harness/kbuild/gc-plan.js';
import { describeStats, parseStatsLog } from '../../harness/kbuild/ccache-stats.js';

t.test('planOverlay: only what differs is written', async (t) => {
  const pristine = { 'a.c': 'A', 'b.c': 'B', 'n.c': null };
  // v1 patches a.c; v2 patches a.c differently.
  t.same(planOverlay({ previous: {}, next: { 'a.c': 'A1' }, pristine, current: { 'a.c': 'A' } }), [{ path: 'a.c', op: 'write', from: 'patched' }], 'first patch');
  t.same(planOverlay({ previous: { 'a.c': 'A1' }, next: { 'a.c': 'A1' }, pristine, current: { 'a.c': 'A1' } }), [{ path: 'a.c', op: 'keep', from: 'patched' }], 'same series again');
  t.same(planOverlay({ previous: { 'a.c': 'A1' }, next: { 'a.c': 'A2' }, pristine, current: { 'a.c': 'A1' } }), [{ path: 'a.c', op: 'write', from: 'patched' }], 'v2');
  t.same(
    planOverlay({ previous: { 'a.c': 'A1' }, next: { 'b.c': 'B1' }, pristine, current: { 'a.c': 'A1', 'b.c': 'B' } }),
    [
      { path: 'a.c', op: 'write', from: 'pristine' },
      { path: 'b.c', op: 'write', from: 'patched' },
    ],
    'a dropped file goes back to pristine',
  );
  t.same(planOverlay({ previous: { 'n.c': 'N' }, next: {}, pristine, current: { 'n.c': 'N' } }), [{ path: 'n.c', op: 'remove', from: 'pristine' }], 'a created file is removed');
  t.same(planOverlay({ previous: {}, next: { 'b.c': null }, pristine, current: { 'b.c': 'B' } }), [{ path: 'b.c', op: 'remove', from: 'patched' }], 'a patch deleting a file');
  t.same(planOverlay({ previous: { 'a.c': 'A1' }, next: {}, pristine, current: { 'a.c': 'A' } }), [{ path: 'a.c', op: 'keep', from: 'pristine' }], 'already pristine (tree repaired): nothing written');
});

t.test('planMirror: changed, new and gone files; the overlay is excluded; no state means check all', async (t) => {
  const previous = new Map([['a', '1'], ['b', '1'], ['gone', '1'], ['p', '1']]);
  const source = new Map([['a', '1'], ['b', '2'], ['new', '1'], ['p', '9']]);
  t.same(planMirror({ previous, source, exclude: new Set(['p']) }), { check: ['b', 'new'], remove: ['gone'] });
  t.same(planMirror({ source, work: ['a', 'stray', 'p'], exclude: new Set(['p']) }), { check: ['a', 'b', 'new'], remove: ['stray'] });
});

t.test('affectsConfig', async (t) => {
  for (const p of ['Kconfig', 'drivers/nvdimm/Kconfig', 'arch/x86/Kconfig.cpu', 'scripts/kconfig/conf.c', 'kernel/configs/tiny.config', 'arch/x86/configs/x86_64_defconfig', 'Makefile']) t.ok(affectsConfig(p), p);
  for (const p of ['drivers/nvdimm/ramdax.c', 'drivers/nvdimm/Makefile', 'include/linux/kconfig.h']) t.notOk(affectsConfig(p), p);
});

const GiB = 2 ** 30;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const now = 100 * DAY;
const policy = { now, maxAgeMs: 30 * DAY, maxBytes: 10 * GiB, minAgeMs: HOUR };
const item = (path: string, kind: GcItem['kind'], gib: number, daysAgo: number, extra: Partial<GcItem> = {}): GcItem => ({ path, kind, bytes: gib * GiB, lastUsed: now - daysAgo * DAY, ...extra });

t.test('planGc: age, legacy, size cap by least recent use; kept, recent and locked items stay', async (t) => {
  const items = [
    item('work/a', 'work-tree', 2, 40),
    item('work/a/obj/x', 'object-folder', 1, 40, { parent: 'work/a' }),
    item('work/b', 'work-tree', 4, 5),
    item('work/b/obj/x', 'object-folder', 1, 5, { parent: 'work/b' }),
    item('work/c', 'work-tree', 4, 3, { keep: 'a build is using it' }),
    item('builds/k1', 'kernel-build', 0.5, 50, { keep: "current kernel of 'source-7.2'" }),
    item('builds/k2', 'kernel-build', 0.5, 45),
    item('sources/patched/x', 'legacy', 1, 1),
    item('sources/patched/y', 'legacy', 1, 0.01),
  ];
  const plan = planGc(items, { ...policy, maxBytes: 12 * GiB });
  const removed = plan.remove.map((d) => d.item.path).sort();
  t.same(removed, ['builds/k2', 'sources/patched/x', 'work/a'], 'old and legacy (not the one used minutes ago); the object folder goes with its tree');
  t.equal(plan.totalBefore, 15 * GiB);
  t.equal(plan.totalAfter, 10.5 * GiB);
  const capped = planGc(items, { ...policy, maxBytes: 6 * GiB });
  t.ok(capped.remove.some((d) => d.item.path === 'work/b' && /least recently used/.test(d.why)), 'over the cap the least recently used tree goes');
  t.notOk(capped.remove.some((d) => d.item.path === 'work/c' || d.item.path === 'builds/k1'), 'never a locked tree or a current kernel');
  const recent = planGc([item('work/r', 'work-tree', 50, 0.02)], { ...policy, maxBytes: GiB });
  t.same(recent.remove, [], 'a tree used in the last hour stays even over the cap');
  const pinnedByChild = planGc([item('work/p', 'work-tree', 1, 40), item('work/p/obj/x', 'object-folder', 1, 0.01, { parent: 'work/p' })], policy);
  t.same(pinnedByChild.remove, [], 'a tree whose object folder was just used stays');
});

t.test('ccache stats log', async (t) => {
  const log = '# ../../src/a.c\ncache_miss\ndirect_cache_miss\n# ../../src/b.c\ndirect_cache_hit\n# ../../src/c.c\npreprocessed_cache_hit\n# x\ncalled_for_link\n';
  const s = parseStatsLog(log);
  t.same(s, { calls: 4, hits: 2, misses: 1, other: 1 });
  t.equal(describeStats(s), 'ccache 2 hit(s), 1 miss(es) (67 % hits)');
  t.equal(describeStats(parseStatsLog('')), undefined);
});
