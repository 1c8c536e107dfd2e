/**
 * The ramdax step's lifecycle actions against a fake nvdimm model
 * (test/helpers/fake-nd.ts): every "nothing left behind" and "exactly what
 * is expected" check passes on a clean model and fails, naming what is
 * wrong, when a fault leaves something behind.
 */
import t from 'tap';
import { ramdaxStep } from '../../harness/steps/ramdax.js';
import { cycleScript, parseCycleOutput, reloadList } from '../../harness/steps/ramdax-cycle.js';
import type { NamespaceInfo, StepContext } from '../../harness/steps/types.js';
import { FakeNd } from '../helpers/fake-nd.js';

const G = 1024 ** 3;
const M = 1024 ** 2;
const params = (v: unknown) => ramdaxStep.schema.parse(v);

function ctxOf(guest: FakeNd, o: { ramdax?: 'module' | 'builtin' | 'absent'; namespaces?: Map<string, NamespaceInfo> } = {}): StepContext {
  return {
    guest,
    namespaces: o.namespaces ?? new Map(),
    memo: new Map(),
    carveOuts: Array.from({ length: guest.regions }, (_, i) => ({ size: G, start: (4 + 2 * i) * G })),
    kernel: { release: '7.2.13+deb14-amd64', ramdax: o.ramdax ?? 'module' },
    timeoutMs: 10_000,
  };
}

/** A model bound to ramdax with a devdax and an fsdax namespace in region 0. */
function bound(regions = 1, faults = {}): FakeNd {
  const g = new FakeNd(regions, faults);
  g.holder = 'ramdax';
  g.override = 'ramdax';
  g.busId = 1;
  g.namespaces = [
    { uuid: '11111111-aaaa', mode: 'devdax', size: 126 * M, region: 0 },
    { uuid: '22222222-bbbb', mode: 'fsdax', size: 250 * M, region: 0 },
  ];
  return g;
}

t.test('unbind: nothing left, then the rebind brings the same namespaces back from the labels', async (t) => {
  const g = bound();
  const ctx = ctxOf(g);
  const un = await ramdaxStep.run(ctx, params({ action: 'unbind' }));
  t.equal(un.status, 'pass', un.reason ?? '');
  t.ok(g.log.some((c) => c.startsWith('( echo e820_pmem > /sys/bus/platform/drivers/ramdax/unbind; echo $? > /tmp/harness-unbind.rc ) > /dev/null 2>&1 < /dev/null & ')), 'the unbind runs in the background, waited for');
  t.equal(un.details?.unbindMs, 300);
  t.same((un.details?.namespaces as { uuid: string }[]).map((n) => n.uuid), ['11111111-aaaa', '22222222-bbbb']);
  const back = await ramdaxStep.run(ctx, params({}));
  t.equal(back.status, 'pass', back.reason ?? '');
  t.equal(ctx.memo!.size, 0, 'the expectation is used once');
});

t.test('unbind: each kind of leftover fails the step and is named', async (t) => {
  const cases: [object, RegExp][] = [
    [{ keepRegionAfterUnbind: true }, /^unbind left something behind: sysfs still has 2 device\(s\) below e820_pmem: ndbus1, ndbus1\/region0/],
    [{ staleNode: true }, /^unbind left something behind: stale device node \/dev\/pmem0 \(its device is gone\)$/],
    [{ ndctlKeepsBus: true }, /^unbind left something behind: ndctl still lists bus ndbus1 \(ramdax\): 1 DIMM\(s\), 1 region\(s\), 0 namespace\(s\)$/],
  ];
  for (const [faults, re] of cases) {
    const out = await ramdaxStep.run(ctxOf(bound(1, faults)), params({ action: 'unbind' }));
    t.equal(out.status, 'fail', JSON.stringify(faults));
    t.match(out.reason, re);
    t.ok(Array.isArray(out.details?.problems), 'every problem is kept in the details');
  }
});

t.test('unbind under a mounted namespace: an orphan mount fails, unless expected', async (t) => {
  const g = bound();
  g.mounts = [{ source: '/dev/pmem0', target: '/mnt/pmem', fstype: 'ext4' }];
  const out = await ramdaxStep.run(ctxOf(g), params({ action: 'unbind' }));
  t.equal(out.status, 'fail');
  t.equal(out.reason, 'unbind left something behind: /dev/pmem0 is still mounted on /mnt/pmem (ext4), its device is gone');
  const g2 = bound();
  g2.mounts = [{ source: '/dev/pmem0', target: '/mnt/pmem', fstype: 'ext4' }];
  const ok = await ramdaxStep.run(ctxOf(g2), params({ action: 'unbind', expect: { orphanMounts: ['/mnt/pmem'] } }));
  t.equal(ok.status, 'pass', ok.reason ?? '');
  const g3 = bound();
  const missing = await ramdaxStep.run(ctxOf(g3), params({ action: 'unbind', expect: { orphanMounts: ['/mnt/pmem'] } }));
  t.equal(missing.reason, 'unbind left something behind: expected /mnt/pmem to stay mounted with its device gone, but it is not in the mount table');
});

t.test('unbind: a hung unbind fails the step with the blocked tasks dumped, instead of hanging it', async (t) => {
  const g = bound(1, { unbindHangs: true });
  const out = await ramdaxStep.run(ctxOf(g), params({ action: 'unbind' }));
  t.equal(out.status, 'fail');
  t.equal(out.reason, "the unbind did not return within 60 s: blocked in the kernel (sysrq w: the blocked tasks' stacks are in the step's kernel log)");
  t.equal(g.log.at(-1), 'echo 1 > /proc/sys/kernel/sysrq; echo w > /proc/sysrq-trigger');
});

t.test('unbind: nothing bound is a failure, not a pass', async (t) => {
  const out = await ramdaxStep.run(ctxOf(new FakeNd(1)), params({ action: 'unbind' }));
  t.equal(out.status, 'fail');
  t.match(out.reason, /^e820_pmem is not bound to any driver/);
});

t.test('bind after unbind: a namespace missing from the labels fails', async (t) => {
  const g = bound(1, { loseNamespaceOnBind: true });
  const ctx = ctxOf(g);
  t.equal((await ramdaxStep.run(ctx, params({ action: 'unbind' }))).status, 'pass');
  const out = await ramdaxStep.run(ctx, params({}));
  t.equal(out.status, 'fail');
  t.equal(out.reason, 'after binding ramdax: expected 2 namespace(s), ndctl shows 1 (namespace0.0) (+1 more: namespace 11111111-aaaa (devdax, 132120576 bytes) did not come back from the labels)');
});

t.test('bind after unbind: named namespaces follow their uuid to the new devices', async (t) => {
  const g = bound();
  const ns = new Map<string, NamespaceInfo>([['pm', { dev: 'namespace0.7', mode: 'fsdax', size: 250 * M, uuid: '22222222-bbbb', blockdev: 'pmem9' }]]);
  const ctx = ctxOf(g, { namespaces: ns });
  await ramdaxStep.run(ctx, params({ action: 'unbind' }));
  await ramdaxStep.run(ctx, params({}));
  t.match(ns.get('pm'), { dev: 'namespace0.1', blockdev: 'pmem0', uuid: '22222222-bbbb' });
});

t.test('cycle: clean cycles pass and record timings; leaks and leftovers fail at the cycle they appear', async (t) => {
  const g = bound();
  const out = await ramdaxStep.run(ctxOf(g), params({ action: 'cycle', count: 12 }));
  t.equal(out.status, 'pass', out.reason ?? '');
  t.equal(out.details?.cycles, 12);
  t.match(out.details?.leaks, { cycles: 9, warmup: 3, slabinfo: true, perCycle: { SUnreclaim: 0, 'cache:kernfs_node_cache': 0 } });
  t.same(out.metrics?.map((m) => [m.name, m.samples.length]), [['lifecycle:unbind', 12], ['lifecycle:bind', 12]]);

  const leak = await ramdaxStep.run(ctxOf(bound(1, { leakObjects: 9 })), params({ action: 'cycle', count: 12 }));
  t.equal(leak.status, 'fail');
  t.match(leak.reason, /^memory grows with the cycles \(9 after a warm-up of 3\): SUnreclaim grew by 663552 bytes over 9 cycles, in both halves \(73728 per cycle; allowed 524288 \+ 4096 per cycle = 561152\)/);
  t.match(leak.details?.problems, [/^SUnreclaim/, /^slab cache kernfs_node_cache grew by 81 objects over 9 cycles, in both halves \(9 per cycle; allowed 16 \+ 0\.5 per cycle = 20\.5\)$/]);
  const small = await ramdaxStep.run(ctxOf(bound(1, { leakObjects: 1 })), params({ action: 'cycle', count: 12 }));
  t.equal(small.status, 'pass', 'one kernfs node per cycle over 9 cycles is within the slack of a short run');

  const left = await ramdaxStep.run(ctxOf(bound(1, { keepRegionAfterUnbind: true })), params({ action: 'cycle', count: 12 }));
  t.equal(left.status, 'fail');
  t.match(left.reason, /^cycle 1\/12 \(unbind\), unbound: sysfs still has 2 device\(s\) below e820_pmem/);
  t.equal(left.details?.cycle, 1);

  const few = await ramdaxStep.run(ctxOf(bound()), params({ action: 'cycle', count: 4 }));
  t.equal(few.status, 'pass');
  t.match(few.details?.leaks, /^not judged: 1 cycle\(s\) after a warm-up of 3 \(needs 4\)/);
});

t.test('cycle: needs the device bound to ramdax and nothing mounted', async (t) => {
  const out = await ramdaxStep.run(ctxOf(new FakeNd(1)), params({ action: 'cycle', count: 2 }));
  t.match(out.reason, /^cycles need e820_pmem bound to ramdax first: e820_pmem is bound to 'nothing'/);
  const g = bound();
  g.mounts = [{ source: '/dev/pmem0', target: '/mnt/pmem', fstype: 'ext4' }];
  const m = await ramdaxStep.run(ctxOf(g), params({ action: 'cycle', count: 2 }));
  t.match(m.reason, /\/dev\/pmem0 is mounted on \/mnt\/pmem right after the bind/);
});

t.test('cycle via switch: both views checked each time', async (t) => {
  const g = bound(2);
  g.namespaces = [{ uuid: '33333333', mode: 'raw', size: 64 * M, region: 1 }];
  const out = await ramdaxStep.run(ctxOf(g), params({ action: 'cycle', count: 3, via: 'switch', leaks: false }));
  t.equal(out.status, 'pass', out.reason ?? '');
  t.same(Object.keys(out.details?.timingsMs as object), ['unbind', 'bind-e820', 'unbind-e820', 'bind']);
});

t.test('cycle via rmmod: an honest SKIP on built-in kernels, and the rest of the case goes on', async (t) => {
  const g = bound();
  const out = await ramdaxStep.run(ctxOf(g, { ramdax: 'builtin' }), params({ action: 'cycle', count: 3, via: 'rmmod' }));
  t.equal(out.status, 'skip');
  t.equal(out.skipRest, undefined, 'only this step is skipped');
  t.equal(out.reason, 'ramdax is built into 7.2.13+deb14-amd64: there is no module to unload (module cycles need a modular kernel, e.g. debian-7.2)');
  t.same(g.log, [], 'nothing ran in the guest');
  const g2 = bound();
  g2.replies.push([/^printf/, () => ({ stdout: 'ramdax /lib/modules/x/ramdax.ko.xz\nlibnvdimm (builtin)\n' })]);
  const out2 = await ramdaxStep.run(ctxOf(g2), params({ action: 'cycle', count: 3, via: 'rmmod', modules: ['ramdax', 'libnvdimm'] }));
  t.equal(out2.status, 'skip');
  t.equal(out2.reason, 'libnvdimm is built in on 7.2.13+deb14-amd64: cannot unload it');
});

t.test('cycle via rmmod: modules unloaded in between, the device binds again when ramdax loads', async (t) => {
  const g = bound();
  g.replies.push([/^printf/, () => ({ stdout: 'ramdax /lib/modules/x/ramdax.ko.xz\n' })]);
  const out = await ramdaxStep.run(ctxOf(g), params({ action: 'cycle', count: 2, via: 'rmmod' }));
  t.equal(out.status, 'pass', out.reason ?? '');
  t.equal(out.details?.autobound, '2/2');
});

t.test('cycle via rmmod: a kernel that unloads a bound ramdax is reported', async (t) => {
  const g = bound(1, { rmmodWhileBound: true });
  g.replies.push([/^printf/, () => ({ stdout: 'ramdax /lib/modules/x/ramdax.ko.xz\n' })]);
  const out = await ramdaxStep.run(ctxOf(g), params({ action: 'cycle', count: 2, via: 'rmmod' }));
  t.equal(out.status, 'fail');
  t.match(out.reason, /^cycle 1\/2: modprobe -r ramdax unloaded the module while e820_pmem was bound/);
});

t.test('cycle via none: the control touches nothing and still checks every snapshot', async (t) => {
  const g = bound();
  const out = await ramdaxStep.run(ctxOf(g), params({ action: 'cycle', count: 8, via: 'none' }));
  t.equal(out.status, 'pass', out.reason ?? '');
  t.equal(g.busId, 1, 'never rebound');
  t.notOk(g.log.some((c) => /\/(un)?bind/.test(c)), 'no unbind or bind written');
  t.match(out.details?.leaks, { cycles: 5, perCycle: { SUnreclaim: 0 } });
});

t.test('cycle scripts: one snapshot per stage, in order', async (t) => {
  t.same(cycleScript({ via: 'unbind', modules: ['ramdax'] }).stages, ['unbound', 'bound']);
  t.same(cycleScript({ via: 'rmmod', modules: ['ramdax'] }).stages, ['still-bound', 'unbound', 'bound'], 'the refused rmmod of a bound ramdax is checked too');
  t.same(cycleScript({ via: 'none', modules: ['ramdax'] }).stages, ['bound'], 'the control only looks');
  t.same(cycleScript({ via: 'switch', modules: ['ramdax'] }).stages, ['off-ramdax', 'on-e820', 'off-e820', 'bound']);
  t.match(cycleScript({ via: 'rmmod', modules: ['ramdax', 'nd_pmem', 'libnvdimm'] }).script, /op unload 'modprobe -r -a ramdax nd_pmem libnvdimm'/);
  t.same(reloadList(['ramdax', 'nd_pmem', 'dax_pmem', 'device_dax', 'nd_btt', 'libnvdimm']), ['ramdax', 'nd_pmem', 'dax_pmem', 'device_dax', 'nd_btt']);
  t.same(reloadList(['nd_pmem']), ['ramdax', 'nd_pmem'], 'ramdax always comes back');
  const out = parseCycleOutput('@rc unbind 0\n@ms unbind 31\n@@ unbound\nholder .\n--- ndctl\n@auto yes\n@rc bind 0\n@@ bound\nholder ramdax\n');
  t.same(out.rc, { unbind: 0, bind: 0 });
  t.same(out.ms, { unbind: 31 });
  t.equal(out.autobound, true);
  t.same(out.sections, { unbound: 'holder .\n--- ndctl\n', bound: 'holder ramdax\n' });
});
