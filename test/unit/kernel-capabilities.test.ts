import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import {
  capabilitiesFromConfig,
  capabilitiesFromModules,
  capabilitiesFromProbe,
  moduleName,
  parseProbeOutput,
  ramdaxReason,
  sshGap,
} from '../../harness/setup/capabilities.js';
import { bzImageRelease, capabilitiesOf } from '../../harness/setup/detect.js';
import { consoleCmdline } from '../../harness/setup/probe.js';
import { root } from '../helpers/cli.js';

// The relevant lines of Debian 7.3.4+deb13-amd64's config (linux-base), as fetched.
const DEBIAN_73 = `CONFIG_X86_PMEM_LEGACY=m
CONFIG_MODULES=y
CONFIG_VIRTIO_BLK=m
CONFIG_VIRTIO_NET=m
CONFIG_LIBNVDIMM=m
CONFIG_BLK_DEV_PMEM=m
CONFIG_RAMDAX=m
CONFIG_DEV_DAX=m
CONFIG_DEV_DAX_PMEM=m
CONFIG_EXT4_FS=m
CONFIG_FS_DAX=y
`;

// A lean built-in kernel (defconfig + kvm_guest + ramdax fragment, MODULES=n).
const BUILTIN = `# CONFIG_MODULES is not set
CONFIG_VIRTIO_BLK=y
CONFIG_VIRTIO_NET=y
CONFIG_EXT4_FS=y
CONFIG_LIBNVDIMM=y
CONFIG_BLK_DEV_PMEM=y
CONFIG_X86_PMEM_LEGACY=y
CONFIG_RAMDAX=y
CONFIG_FS_DAX=y
CONFIG_DEV_DAX=y
CONFIG_DEV_DAX_PMEM=y
`;

t.test('config: Debian 7.3 is modular; SSH needs its modules', async (t) => {
  const withMods = capabilitiesFromConfig(DEBIAN_73, true);
  t.equal(withMods.from, 'config');
  t.equal(withMods.options.RAMDAX, 'module');
  t.equal(withMods.options.FS_DAX, 'builtin');
  t.equal(withMods.options.DEV_DAX, 'module');
  t.same(withMods.ssh, { reachable: true, missing: [] });
  const noMods = capabilitiesFromConfig(DEBIAN_73, false);
  t.same(noMods.ssh, { reachable: false, missing: ['VIRTIO_BLK', 'EXT4_FS', 'VIRTIO_NET'] }, 'modules the harness does not ship do not count');
  t.equal(sshGap(noMods), 'no virtio_blk/ext4/virtio_net to reach SSH');
  t.match(noMods.evidence.join('\n'), /modules are configured but the harness has none/);
});

t.test('config: a built-in kernel reaches SSH without modules', async (t) => {
  const c = capabilitiesFromConfig(BUILTIN, false);
  t.equal(c.options.RAMDAX, 'builtin');
  t.equal(c.ssh.reachable, true);
  t.equal(sshGap(c), undefined);
});

t.test('config: absent options, look-alike symbols and comments', async (t) => {
  const c = capabilitiesFromConfig('# CONFIG_RAMDAX is not set\nCONFIG_RAMDAX_DEBUG=y\n# CONFIG_FS_DAX=y\nCONFIG_VIRTIO_BLK=y\nCONFIG_EXT4_FS=y\n', false);
  t.equal(c.options.RAMDAX, 'absent');
  t.equal(c.options.FS_DAX, 'absent');
  t.same(c.ssh.missing, ['VIRTIO_NET']);
  t.equal(ramdaxReason('7.0.0-test', c), 'kernel 7.0.0-test has no ramdax driver (CONFIG_RAMDAX not set)');
  // MODULES=n: a =m option cannot be loaded even when the harness "has modules".
  t.equal(capabilitiesFromConfig('CONFIG_VIRTIO_BLK=m\nCONFIG_EXT4_FS=y\nCONFIG_VIRTIO_NET=y\n', true).ssh.reachable, false);
});

t.test('modules list: loadable and built-in modules', async (t) => {
  t.equal(moduleName('kernel/drivers/nvdimm/ramdax.ko.xz'), 'ramdax');
  t.equal(moduleName('kernel/drivers/dax/device-dax.ko'), 'device_dax', 'dashes are underscores');
  const c = capabilitiesFromModules(
    ['kernel/drivers/nvdimm/ramdax.ko.xz', 'kernel/drivers/nvdimm/libnvdimm.ko.xz', 'kernel/drivers/block/virtio_blk.ko.xz', 'kernel/fs/ext4/ext4.ko.xz'],
    ['kernel/drivers/net/virtio_net.ko', 'kernel/drivers/dax/device_dax.ko'],
  );
  t.equal(c.from, 'modules');
  t.equal(c.options.RAMDAX, 'module');
  t.equal(c.options.VIRTIO_NET, 'builtin');
  t.equal(c.options.DEV_DAX, 'builtin');
  t.equal(c.options.FS_DAX, 'unknown', 'a bool option has no module: only a config or probe can tell');
  t.equal(c.ssh.reachable, true);
  const none = capabilitiesFromModules(['kernel/fs/ext4/ext4.ko'], []);
  t.equal(none.options.RAMDAX, 'absent');
  t.same(none.ssh.missing, ['VIRTIO_BLK', 'VIRTIO_NET']);
});

t.test('probe: the real Debian 6.19.14 console report', async (t) => {
  const text = await readFile(join(root, 'test/fixtures/consoles/debian-6.19-probe.log'), 'utf8');
  const p = parseProbeOutput(text);
  t.equal(p.release, '6.19.14+deb13-amd64');
  t.same(p.pmem, ['20000000-23ffffff : Persistent Memory (legacy)']);
  t.equal(p.e820Pmem, true);
  t.equal(p.ramdaxDriver, false);
  t.same(p.virtioDrivers, ['virtio_console', 'virtio_rproc_serial', 'virtiofs']);
  t.same(p.filesystems, ['fuseblk']);
  t.equal(p.done, true);
  const c = capabilitiesFromProbe(p, false);
  t.equal(c.from, 'probe');
  t.equal(c.options.RAMDAX, 'absent');
  t.equal(c.options.X86_PMEM_LEGACY, 'builtin');
  t.same(c.ssh, { reachable: false, missing: ['VIRTIO_BLK', 'EXT4_FS', 'VIRTIO_NET'] });
  t.equal(
    `${ramdaxReason(p.release!, c)}; ${sshGap(c)}`,
    'kernel 6.19.14+deb13-amd64 has no ramdax driver (probed: /sys/bus/platform/drivers/ramdax absent); no virtio_blk/ext4/virtio_net to reach SSH',
  );
});

t.test('probe: an unfinished report, and an IKCONFIG config that wins', async (t) => {
  const cut = parseProbeOutput('harness-probe: started\r\nharness-probe: uname=7.3.0\r\n[ 1.0] Kernel panic - not syncing\r\n');
  t.equal(cut.done, false);
  t.equal(cut.ramdaxDriver, undefined);
  t.equal(capabilitiesFromProbe(cut, false).options.RAMDAX, 'unknown', 'no answer is not "absent"');
  const withCfg = parseProbeOutput(
    ['harness-probe: ramdax=absent', 'harness-probe: config=CONFIG_RAMDAX=m', 'harness-probe: config=CONFIG_FS_DAX=y', 'harness-probe: config=rm -rf /', 'harness-probe: done'].join('\n'),
  );
  t.same(withCfg.config, ['CONFIG_RAMDAX=m', 'CONFIG_FS_DAX=y'], 'only CONFIG_X=y|m lines are taken');
  const c = capabilitiesFromProbe(withCfg, false);
  t.equal(c.options.RAMDAX, 'module');
  t.equal(c.options.FS_DAX, 'builtin');
  t.equal(c.from, 'probe');
  // A driver seen during the probe (nothing loaded) is built in.
  t.equal(capabilitiesFromProbe(parseProbeOutput('harness-probe: ramdax=present\nharness-probe: virtio=virtio_blk virtio_net\nharness-probe: fs=ext4 vfat\nharness-probe: done'), false).ssh.reachable, true);
});

t.test('bzImage header: kernel_version string', async (t) => {
  const img = Buffer.alloc(0x400);
  img.write('HdrS', 0x202, 'latin1');
  img.writeUInt16LE(0x100, 0x20e);
  img.write('6.19.14+deb13-amd64 (debian-kernel@lists.debian.org) #1 SMP\0', 0x300, 'latin1');
  t.equal(bzImageRelease(img), '6.19.14+deb13-amd64');
  t.equal(bzImageRelease(Buffer.alloc(0x400)), undefined, 'no HdrS magic: not a bzImage');
  t.equal(bzImageRelease(Buffer.alloc(16)), undefined);
});

t.test('old manifests get capabilities from their ramdax field', async (t) => {
  const c = capabilitiesOf({ name: 'k', release: 'r', source: 's', packages: [], dir: '/d', vmlinuz: '/d/vmlinuz', sha256: {}, ramdax: 'module', createdAt: '' });
  t.equal(c.options.RAMDAX, 'module');
  t.equal(c.ssh.reachable, true);
  t.equal(c.from, 'assumed');
});

t.test('console-only command line: serial console, panic ends QEMU, /init of the initramfs', async (t) => {
  t.equal(consoleCmdline(['memmap=512M!4G', 'loglevel=7']), 'console=ttyS0,115200 panic=-1 printk.time=1 rdinit=/init memmap=512M!4G loglevel=7');
  t.notMatch(consoleCmdline([]), /root=/, 'no root disk');
});
