import t from 'tap';
import { ramdaxFromConfig } from '../../harness/setup/artifacts.js';
import { compareVersions, describeOffered, offeredReleases } from '../../harness/setup/debian-version.js';
import { execa } from 'execa';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostPipeline } from '../../harness/common/exec.js';
import { packNewc, parseShowDepends } from '../../harness/setup/initramfs.js';
import { tempDir } from '../helpers/cli.js';

const NAMES = [
  'linux-binary-7.2.9+deb14-amd64',
  'linux-binary-7.2.13+deb13-amd64',
  'linux-binary-7.2.13+deb14-amd64',
  'linux-binary-7.2.13+deb14-rt-amd64',
  'linux-binary-7.2.13+deb14-cloud-amd64',
  'linux-binary-7.2.14+deb14-rt-amd64',
  'linux-binary-7.2.15+deb14-cloud-amd64',
  'linux-binary-7.2.2+deb14-amd64',
  'linux-binary-7.20.1+deb14-amd64',
  'linux-binary-7.1.99+deb14-amd64',
  'linux-binary-6.12.48+deb13-amd64',
  'linux-binary-7.2.16+deb14-amd64-unsigned',
  'linux-image-7.2.99+deb14-amd64',
  'linux-binary-7x2.50+deb14-amd64',
  'xlinux-binary-7.2.60+deb14-amd64',
];

t.test('offeredReleases: newest 7.2.N first, numeric not lexical', async (t) => {
  const r = offeredReleases(NAMES, '7.2', 'amd64');
  t.same(
    r.map((v) => v.release),
    ['7.2.13+deb14-amd64', '7.2.13+deb13-amd64', '7.2.9+deb14-amd64', '7.2.2+deb14-amd64'],
  );
  t.same(r[0], { release: '7.2.13+deb14-amd64', upstream: [7, 2, 13], debRevision: 14 });
});

t.test('offeredReleases: 7.2.13 beats 7.2.9', async (t) => {
  t.equal(offeredReleases(['linux-binary-7.2.9+deb14-amd64', 'linux-binary-7.2.13+deb14-amd64'], '7.2', 'amd64')[0]?.release, '7.2.13+deb14-amd64');
  t.equal(offeredReleases(['linux-binary-7.2.13+deb14-amd64', 'linux-binary-7.2.9+deb14-amd64'], '7.2', 'amd64')[0]?.release, '7.2.13+deb14-amd64', 'input order does not matter');
});

t.test('offeredReleases: +deb14 beats +deb13 for the same upstream', async (t) => {
  t.equal(offeredReleases(['linux-binary-7.2.13+deb14-amd64', 'linux-binary-7.2.13+deb13-amd64'], '7.2', 'amd64')[0]?.release, '7.2.13+deb14-amd64');
  t.equal(offeredReleases(['linux-binary-7.2.13+deb9-amd64', 'linux-binary-7.2.13+deb10-amd64'], '7.2', 'amd64')[0]?.release, '7.2.13+deb10-amd64', 'deb10 > deb9 numerically');
});

t.test('offeredReleases: flavour amd64 ignores -rt-amd64 and -cloud-amd64 even when newer', async (t) => {
  const r = offeredReleases(NAMES, '7.2', 'amd64');
  t.notOk(r.some((v) => /rt|cloud|unsigned/.test(v.release)));
  t.notOk(r.some((v) => v.release.startsWith('7.2.14') || v.release.startsWith('7.2.15')));
});

t.test('offeredReleases: cloud-amd64 flavour picks only cloud packages', async (t) => {
  t.same(
    offeredReleases(NAMES, '7.2', 'cloud-amd64').map((v) => v.release),
    ['7.2.15+deb14-cloud-amd64', '7.2.13+deb14-cloud-amd64'],
  );
});

t.test('offeredReleases: other series are not mixed in', async (t) => {
  t.same(offeredReleases(NAMES, '7.20', 'amd64').map((v) => v.release), ['7.20.1+deb14-amd64']);
  t.same(offeredReleases(NAMES, '6.12', 'amd64').map((v) => v.release), ['6.12.48+deb13-amd64']);
  t.same(offeredReleases(NAMES, '8.0', 'amd64'), []);
  t.same(offeredReleases([], '7.2', 'amd64'), []);
});

t.test('compareVersions', async (t) => {
  const v = (upstream: number[], debRevision: number) => ({ release: '', upstream, debRevision });
  t.ok(compareVersions(v([7, 2, 13], 14), v([7, 2, 9], 14)) > 0);
  t.ok(compareVersions(v([7, 2, 13], 13), v([7, 2, 13], 14)) < 0);
  t.equal(compareVersions(v([7, 2, 13], 14), v([7, 2, 13], 14)), 0);
  t.ok(compareVersions(v([7, 2], 14), v([7, 2, 0], 15)) < 0, 'missing component counts as 0');
  t.ok(compareVersions(v([7, 3, 0], 1), v([7, 2, 99], 99)) > 0);
});

t.test('describeOffered: upstream series, numeric order, deduplicated', async (t) => {
  t.equal(describeOffered(NAMES), '6.12, 7.1, 7.2, 7.20');
  t.equal(describeOffered(['linux-binary-7.10.1+deb14-amd64', 'linux-binary-7.9.1+deb14-amd64', 'linux-binary-7.10.2+deb14-amd64']), '7.9, 7.10');
  t.equal(describeOffered([]), 'none');
  t.equal(describeOffered(['linux-image-7.2.1+deb14-amd64', 'bash']), 'none');
});

t.test('parseShowDepends: insmod paths in load order, builtin skipped, duplicates dropped', async (t) => {
  const out = [
    'builtin crc32c_generic',
    'insmod /lib/modules/7.2.13+deb14-amd64/kernel/drivers/virtio/virtio.ko.xz ',
    'insmod /lib/modules/7.2.13+deb14-amd64/kernel/drivers/virtio/virtio_ring.ko.xz ',
    'insmod /lib/modules/7.2.13+deb14-amd64/kernel/drivers/block/virtio_blk.ko.xz ',
    'insmod /lib/modules/7.2.13+deb14-amd64/kernel/drivers/virtio/virtio.ko.xz ',
    'insmod /lib/modules/7.2.13+deb14-amd64/kernel/drivers/virtio/virtio_ring.ko.xz ',
    'insmod /lib/modules/7.2.13+deb14-amd64/kernel/net/core/failover.ko.xz ',
    'insmod /lib/modules/7.2.13+deb14-amd64/kernel/drivers/net/net_failover.ko.xz ',
    'insmod /lib/modules/7.2.13+deb14-amd64/kernel/drivers/net/virtio_net.ko.xz  napi_tx=1',
    'builtin ext4',
    '  insmod /lib/modules/7.2.13+deb14-amd64/kernel/lib/crc16.ko.zst',
    'insmod /lib/modules/7.2.13+deb14-amd64/kernel/fs/mbcache.ko',
    '',
    'modprobe: FATAL: Module nonexistent not found',
  ].join('\n');
  t.same(parseShowDepends(out), [
    '/lib/modules/7.2.13+deb14-amd64/kernel/drivers/virtio/virtio.ko.xz',
    '/lib/modules/7.2.13+deb14-amd64/kernel/drivers/virtio/virtio_ring.ko.xz',
    '/lib/modules/7.2.13+deb14-amd64/kernel/drivers/block/virtio_blk.ko.xz',
    '/lib/modules/7.2.13+deb14-amd64/kernel/net/core/failover.ko.xz',
    '/lib/modules/7.2.13+deb14-amd64/kernel/drivers/net/net_failover.ko.xz',
    '/lib/modules/7.2.13+deb14-amd64/kernel/drivers/net/virtio_net.ko.xz',
    '/lib/modules/7.2.13+deb14-amd64/kernel/lib/crc16.ko.zst',
    '/lib/modules/7.2.13+deb14-amd64/kernel/fs/mbcache.ko',
  ]);
  t.same(parseShowDepends(''), []);
  t.same(parseShowDepends('builtin virtio_blk\nbuiltin virtio_net\nbuiltin ext4\n'), [], 'all built in: nothing to load');
});

t.test('ramdaxFromConfig', async (t) => {
  t.equal(ramdaxFromConfig('CONFIG_LIBNVDIMM=y\nCONFIG_RAMDAX=y\nCONFIG_BLK_DEV_PMEM=m\n'), 'builtin');
  t.equal(ramdaxFromConfig('CONFIG_LIBNVDIMM=y\nCONFIG_RAMDAX=m\n'), 'module');
  t.equal(ramdaxFromConfig('CONFIG_LIBNVDIMM=y\n# CONFIG_RAMDAX is not set\n'), 'absent');
  t.equal(ramdaxFromConfig(''), 'absent');
  t.equal(ramdaxFromConfig('CONFIG_RAMDAX_DEBUG=y\nCONFIG_RAMDAXX=m\n'), 'absent', 'other symbols with the same prefix do not count');
  t.equal(ramdaxFromConfig('# CONFIG_RAMDAX=y\n'), 'absent', 'a commented-out line does not count');
  t.equal(ramdaxFromConfig('CONFIG_RAMDAX=n\n'), 'absent');
});

t.test('host pipelines: argument arrays, no shell; a failing tool names the pipeline', async (t) => {
  const d = await tempDir('ramdax-pipe-');
  await mkdir(join(d, 'root/bin'), { recursive: true });
  await writeFile(join(d, 'root/bin/it'), 'x');
  await writeFile(join(d, "root/a file with 'quotes' $HOME"), '');
  await packNewc(join(d, 'root'), join(d, 'initramfs.img'));
  t.same([...(await readFile(join(d, 'initramfs.img'))).subarray(0, 2)], [0x1f, 0x8b], 'gzipped');
  await hostPipeline([['gzip', ['-dc', join(d, 'initramfs.img')]]], { toFile: join(d, 'initramfs.cpio') });
  const names = (await execa('cpio', ['-t', '--quiet'], { inputFile: join(d, 'initramfs.cpio') })).stdout.split('\n').sort();
  t.same(names, ['.', "a file with 'quotes' $HOME", 'bin', 'bin/it'], 'every file, names taken literally');
  t.equal((await readFile(join(d, 'initramfs.cpio'))).subarray(0, 6).toString(), '070701', 'newc format');
  await t.rejects(hostPipeline([['find', [join(d, 'missing')]], ['gzip', ['-1']]], { toFile: join(d, 'x.gz') }), { message: /^find .*missing \| gzip -1 > .*x\.gz: Command failed with exit code 1/ });
});
