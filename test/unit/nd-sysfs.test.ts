/**
 * The "nothing left behind" and "exactly what is expected" checks on
 * snapshot listings (test/fixtures/nd/: captured from Debian 7.2.13 guests,
 * see the README there): each check passes on the real listing and fails,
 * naming the leftover, when one thing is added to or removed from it.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { boundProblems, devicesOfPlatform, identities, labelLessProblems, leftovers, namespaceChanges, parseSnapshot } from '../../harness/steps/nd-sysfs.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/nd/${name}`, import.meta.url), 'utf8');
const bound = fixture('bound.txt');
const unbound = fixture('unbound.txt');
/** Insert lines just before the ndctl section (or at the end of the head). */
const plus = (text: string, ...lines: string[]) => text.replace(/^--- ndctl$/m, `${lines.join('\n')}\n--- ndctl`);
const minus = (text: string, re: RegExp) => text.split('\n').filter((l) => !re.test(l)).join('\n');
const expectBound = { driver: 'ramdax' as const, dimms: 1, regions: 1, namespaces: 2 };

t.test('parseSnapshot reads the real listing', async (t) => {
  const s = parseSnapshot(bound);
  t.equal(s.holder, 'ramdax');
  t.same(s.providers, { ndbus0: 'ramdax' });
  t.ok(devicesOfPlatform(s).includes('ndbus0/region0/namespace0.1'), 'relative link targets resolved below the platform device');
  t.ok(s.devices.includes('/sys/devices/platform/e820_pmem/ndbus0/region0/dax0.1/dax0.0'), 'device-dax instance');
  t.same(s.nodeDevices.sort(), ['dax0.0', 'ndctl0', 'pmem0.1'], 'devices that have /dev nodes');
  t.same(s.nodes, ['/dev/dax0.0', '/dev/ndctl0', '/dev/pmem0.1'], 'only pmem/dax/ndctl nodes of /dev');
  t.same(s.drivers.ramdax, ['bind', 'e820_pmem', 'module', 'uevent', 'unbind']);
  t.same(s.modules, { ramdax: '1', libnvdimm: '4', nd_pmem: '0', nd_btt: '1', dax_pmem: '0', device_dax: '0' });
  t.notOk(s.devices.some((d) => d.includes('virtio')), 'other block devices are not ours');
  t.same(identities(s).map((n) => n.mode), ['fsdax', 'devdax']);
  t.throws(() => parseSnapshot('--- ndctl\nnot json\n'), 'ndctl garbage is an error, not an empty listing');
});

t.test('bound: the real listing passes; each missing or extra thing is named', async (t) => {
  t.same(boundProblems(parseSnapshot(bound), expectBound), []);
  const cases: [string, string][] = [
    [minus(bound, /devices\/nmem0 /), 'sysfs has 0 DIMM(s) below e820_pmem, ndctl shows 1'],
    [minus(bound, /^f \/dev\/pmem0\.1 /), 'namespace0.1: no /dev/pmem0.1'],
    [plus(bound, 'mount /dev/pmem0.1 /mnt/pmem ext4'), '/dev/pmem0.1 is mounted on /mnt/pmem right after the bind'],
    [bound.replace('drivers/ramdax\n', 'drivers/e820_pmem\n'), "e820_pmem is bound to 'e820_pmem', not ramdax"],
    [bound.replace('provider:ramdax', 'provider:e820'), "ndbus0 has provider 'e820', not 'ramdax'"],
    [plus(bound, 'f /sys/bus/nd/devices/ndbus1 ../../../devices/platform/e820_pmem/ndbus1'), 'expected one nvdimm bus below e820_pmem, sysfs has 2 (ndbus0, ndbus1)'],
  ];
  for (const [text, problem] of cases) t.ok(boundProblems(parseSnapshot(text), expectBound).includes(problem), problem);
  t.same(boundProblems(parseSnapshot(bound), { ...expectBound, namespaces: 3 }), ['expected 3 namespace(s), ndctl shows 2 (namespace0.1, namespace0.0)']);
});

t.test('unbound: the real listing passes; each leftover is named', async (t) => {
  const before = parseSnapshot(bound);
  t.same(leftovers(parseSnapshot(unbound), before), []);
  const cases: [string, string][] = [
    [plus(unbound, 'f /sys/bus/platform/devices/e820_pmem/driver ../../../bus/platform/drivers/ramdax'), 'e820_pmem is still bound to ramdax'],
    [plus(unbound, 'f /sys/bus/nd/devices/region0 ../../../devices/platform/e820_pmem/ndbus0/region0'), 'sysfs still has 1 device(s) below e820_pmem: ndbus0/region0'],
    [plus(unbound, '/sys/bus/nd/devices/ndbus0/provider:ramdax'), 'sysfs still has bus ndbus0 (provider ramdax)'],
    [plus(unbound, 'f /sys/bus/platform/drivers/ramdax/e820_pmem ../../../../devices/platform/e820_pmem'), 'driver ramdax still lists e820_pmem'],
    [plus(unbound, 'f /dev/pmem0.1 '), 'stale device node /dev/pmem0.1 (its device is gone)'],
    [plus(unbound, 'f /dev/dax0.0 '), 'stale device node /dev/dax0.0 (its device is gone)'],
    [plus(unbound, 'mount /dev/pmem0.1 /mnt/pmem ext4'), '/dev/pmem0.1 is still mounted on /mnt/pmem (ext4), its device is gone'],
    [`${unbound.trimEnd()}\n${JSON.stringify({ provider: 'ramdax', dev: 'ndbus0', dimms: [{ dev: 'nmem0' }], regions: [] })}\n`, 'ndctl still lists bus ndbus0 (ramdax): 1 DIMM(s), 0 region(s), 0 namespace(s)'],
  ];
  for (const [text, problem] of cases) t.same(leftovers(parseSnapshot(text), before), [problem], problem);
  t.same(leftovers(parseSnapshot(unbound), before, { unloaded: ['ramdax'] }), ['module ramdax is still loaded (refcount 0)']);
  t.same(leftovers(parseSnapshot(minus(unbound, /module\/ramdax\/refcnt/)), before, { unloaded: ['ramdax'] }), []);
});

t.test('orphan mounts: expected ones pass, missing or still-alive ones are named', async (t) => {
  const before = parseSnapshot(bound);
  const orphan = plus(unbound, 'mount /dev/pmem0.1 /mnt/pmem ext4');
  t.same(leftovers(parseSnapshot(orphan), before, { orphanMounts: ['/mnt/pmem'] }), []);
  t.same(leftovers(parseSnapshot(unbound), before, { orphanMounts: ['/mnt/pmem'] }), ['expected /mnt/pmem to stay mounted with its device gone, but it is not in the mount table']);
  t.match(leftovers(parseSnapshot(plus(bound, 'mount /dev/pmem0.1 /mnt/pmem ext4')), before, { orphanMounts: ['/mnt/pmem'] }), [/^e820_pmem is still bound/, /^sysfs still has/, /^driver ramdax/, /^ndctl still lists/, /^expected the device under \/mnt\/pmem \(\/dev\/pmem0\.1\) to be gone/]);
});

t.test('namespaceChanges: by uuid, mode and size', async (t) => {
  const a = [{ uuid: 'u1', mode: 'fsdax', size: 10 }, { uuid: 'u2', mode: 'devdax', size: 20 }];
  t.same(namespaceChanges(a, [...a].reverse()), []);
  t.same(namespaceChanges(a, [a[0]!]), ['namespace u2 (devdax, 20 bytes) did not come back from the labels']);
  t.same(namespaceChanges(a, [a[0]!, { uuid: 'u2', mode: 'raw', size: 20 }]), ['namespace u2 came back as raw 20 bytes (was devdax 20)']);
  t.same(namespaceChanges([a[0]!], a), ['namespace u2 (devdax, 20 bytes) appeared after the rebind']);
});

t.test('labelLessProblems: one raw namespace per region, region-sized, no uuid', async (t) => {
  const e820 = (ns: unknown[]) => parseSnapshot(`--- ndctl\n${JSON.stringify([{ provider: 'e820', dev: 'ndbus0', regions: [{ dev: 'region0', size: 1073741824, namespaces: ns }] }])}\n`);
  t.same(labelLessProblems(e820([{ dev: 'namespace0.0', mode: 'raw', size: 1073741824, blockdev: 'pmem0' }])), []);
  t.same(labelLessProblems(e820([])), ['region0: expected one label-less namespace, ndctl shows 0']);
  t.same(labelLessProblems(e820([{ dev: 'namespace0.0', mode: 'raw', size: 1073741824, uuid: 'x' }])), ['region0: label-less namespace namespace0.0 has a uuid (x): labels on an e820 region?']);
  t.same(labelLessProblems(parseSnapshot('--- ndctl\n')), ['no e820 bus in ndctl list']);
});
