import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { capabilityGap, stepNeeds } from '../../harness/runner/capability-gate.js';
import { consoleSkipReason, isConsoleOnly, judgeConsole } from '../../harness/runner/console-case.js';
import type { KernelArtifact } from '../../harness/setup/artifacts.js';
import { capabilitiesFromConfig, capabilitiesFromProbe, parseProbeOutput } from '../../harness/setup/capabilities.js';
import { root } from '../helpers/cli.js';

const probeLog = () => readFile(join(root, 'test/fixtures/consoles/debian-6.19-probe.log'), 'utf8');
const lines = (text: string) => text.replace(/\r/g, '').split('\n');
const REL = '6.19.14+deb13-amd64';

t.test('judgeConsole: the real 6.19 console-only boot passes', async (t) => {
  const v = judgeConsole(lines(await probeLog()), { release: REL, exitCode: 0, stop: 'exited', carveOuts: 1 });
  t.equal(v.status, 'pass', v.reason ?? 'no reason');
  t.equal(v.banner, true);
  t.equal(v.powerDown, true);
  t.same(v.findings, []);
});

t.test('judgeConsole: each broken piece fails the boot with its reason', async (t) => {
  const good = lines(await probeLog());
  const ok = { release: REL, exitCode: 0, stop: 'exited', carveOuts: 1 };
  t.match(judgeConsole(good, { ...ok, release: '6.19.13+deb13-amd64' }).reason, /uname -r says 6\.19\.14\+deb13-amd64, expected 6\.19\.13/);
  t.match(judgeConsole(good, { ...ok, stop: 'qmp-quit', exitCode: undefined }).reason, /no clean power-off \(QEMU qmp-quit/);
  t.match(judgeConsole(good.filter((l) => !/Power down/.test(l)), ok).reason, /no "reboot: Power down"/);
  t.match(judgeConsole(good.filter((l) => !/harness-probe: (done|iomem)/.test(l)), ok).reason, /the init report stopped before its end/);
  t.match(judgeConsole(good.filter((l) => !/harness-probe: iomem/.test(l)), ok).reason, /no Persistent Memory range in \/proc\/iomem for 1 carve-out/);
  t.equal(judgeConsole(good.filter((l) => !/harness-probe: iomem/.test(l)), { ...ok, carveOuts: 0 }).status, 'pass', 'no carve-out asked, none needed');
  t.match(judgeConsole(good.filter((l) => !/Linux version/.test(l)), ok).reason, /no kernel banner/);
  const panic = [...good.slice(0, 380), '[    5.2] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100'];
  const v = judgeConsole(panic, { ...ok, stop: 'exited', exitCode: 0 });
  t.equal(v.status, 'fail');
  t.match(v.reason, /kernel reported/);
  t.ok(v.findings.length > 0);
});

const probed = async (): Promise<KernelArtifact> => ({
  name: 'debian-6.19', release: REL, source: 'debian:x', packages: [], dir: '/d', vmlinuz: '/d/vmlinuz', sha256: {}, ramdax: 'absent', createdAt: '', kind: 'debian',
  capabilities: capabilitiesFromProbe(parseProbeOutput(await probeLog()), false),
});

t.test('console path: who takes it, and the skip reasons', async (t) => {
  const k = await probed();
  t.equal(isConsoleOnly(k), true);
  t.equal(isConsoleOnly({ ...k, capabilities: capabilitiesFromConfig('CONFIG_MODULES=y\nCONFIG_VIRTIO_BLK=m\nCONFIG_EXT4_FS=m\nCONFIG_VIRTIO_NET=m\n', true) }), false, 'a modular kernel with its modules reaches SSH');
  t.equal(isConsoleOnly({ ...k, capabilities: undefined }), false, 'an old manifest (before detection) keeps the SSH path');
  t.equal(
    consoleSkipReason({ index: 0, kind: 'ramdax', name: 'bind', timeoutMs: 1, params: { driver: 'ramdax', expect: {} } }, k, k.capabilities!),
    'kernel 6.19.14+deb13-amd64 has no ramdax driver (probed: /sys/bus/platform/drivers/ramdax absent); no virtio_blk/ext4/virtio_net to reach SSH (console-only boot: this step needs the guest)',
  );
  t.match(consoleSkipReason({ index: 1, kind: 'run', name: 'uname', timeoutMs: 1, params: { command: 'uname -r' } }, k, k.capabilities!), /no virtio_blk\/ext4\/virtio_net to reach SSH/);
});

t.test('capability gate: what each step needs, and absent vs unknown', async (t) => {
  t.same(stepNeeds({ kind: 'ramdax', params: { driver: 'ramdax' } }), ['RAMDAX']);
  t.same(stepNeeds({ kind: 'ramdax', params: { driver: 'nd_e820' } }), [], 'the e820 control needs no ramdax');
  t.same(stepNeeds({ kind: 'namespace', params: { mode: 'devdax' } }), ['DEV_DAX']);
  t.same(stepNeeds({ kind: 'namespace', params: { mode: 'fsdax' } }), []);
  t.same(stepNeeds({ kind: 'mount', params: { options: 'dax=always' } }), ['FS_DAX']);
  t.same(stepNeeds({ kind: 'mount', params: { options: 'ro,dax' } }), ['FS_DAX']);
  t.same(stepNeeds({ kind: 'mount', params: { options: 'dax=never' } }), [], 'dax=never is the control');
  t.same(stepNeeds({ kind: 'dax-active', params: { expect: false } }), []);
  t.same(stepNeeds({ kind: 'devdax-io', params: {} }), ['DEV_DAX']);
  t.same(stepNeeds({ kind: 'dax-faults', params: { expect: 'pmd' } }), ['FS_DAX']);
  t.same(stepNeeds({ kind: 'dax-faults', params: { expect: 'none' } }), [], 'the page-cache control needs no FS_DAX');
  const noFsDax = capabilitiesFromConfig('CONFIG_MODULES=y\nCONFIG_RAMDAX=m\nCONFIG_DEV_DAX=m\n# CONFIG_FS_DAX is not set\n', true);
  t.equal(capabilityGap({ kind: 'mount', params: { options: 'dax=always' } }, noFsDax, '7.3.4'), 'kernel 7.3.4 has no FS_DAX (CONFIG_FS_DAX not set)');
  t.equal(capabilityGap({ kind: 'ramdax', params: { driver: 'ramdax' } }, noFsDax, '7.3.4'), undefined, 'ramdax as a module is there');
  const noRamdax = capabilitiesFromConfig('CONFIG_FS_DAX=y\n', false);
  t.equal(capabilityGap({ kind: 'ramdax', params: { driver: 'ramdax' } }, noRamdax, '7.0'), 'kernel 7.0 has no ramdax driver (CONFIG_RAMDAX not set)');
  const k = await probed();
  t.equal(capabilityGap({ kind: 'mount', params: { options: 'dax=always' } }, k.capabilities!, REL), undefined, 'FS_DAX unknown (probe cannot tell): the step runs');
});
