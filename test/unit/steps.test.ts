import t from 'tap';
import type { CarveOut } from '../../harness/scenario/memmap.js';
import type { DriverAvailability } from '../../harness/setup/artifacts.js';
import { daxActiveStep, statxAttributes } from '../../harness/steps/dax-active.js';
import { mountOptions } from '../../harness/steps/mount.js';
import { namespaceStep } from '../../harness/steps/namespace.js';
import { asArray, chardevOf } from '../../harness/steps/ndctl.js';
import { ramdaxStep } from '../../harness/steps/ramdax.js';
import { FakeNd } from '../helpers/fake-nd.js';
import { judgeTap, looksLikeTap, runStep } from '../../harness/steps/run.js';
import type { CommandResult, Guest, NamespaceInfo, StepContext } from '../../harness/steps/types.js';

const G = 1024 ** 3;
const M = 1024 ** 2;

// ---------------------------------------------------------------- fakes

type Reply = Partial<Omit<CommandResult, 'command'>>;
type Handler = [RegExp, (command: string) => Reply];

/** A guest whose shell answers from canned replies keyed by regex; unknown commands exit 127. */
class FakeGuest implements Guest {
  readonly log: string[] = [];
  constructor(private readonly handlers: Handler[]) {}
  async exec(command: string, opts: { timeoutMs: number; stdin?: string }): Promise<CommandResult> {
    this.log.push(command);
    if (!(opts.timeoutMs > 0)) throw new Error(`bad timeout ${opts.timeoutMs}`);
    const h = this.handlers.find(([re]) => re.test(command));
    const r: Reply = h ? h[1](command) : { exitCode: 127, stderr: `sh: fake guest has no reply for: ${command}\n` };
    return { command, exitCode: 0, stdout: '', stderr: '', durationMs: 1, timedOut: false, ...r };
  }
}

function ctxOf(guest: Guest, o: { carveOuts?: CarveOut[]; ramdax?: DriverAvailability; namespaces?: Map<string, NamespaceInfo> } = {}): StepContext {
  return {
    guest,
    namespaces: o.namespaces ?? new Map(),
    carveOuts: o.carveOuts ?? [{ size: G, start: 4 * G }],
    kernel: { release: '7.2.13+deb14-amd64', ramdax: o.ramdax ?? 'module' },
    timeoutMs: 10_000,
  };
}

// ---------------------------------------------------------------- pure helpers

t.test('statxAttributes', async (t) => {
  const out = (attrs: string) => `stat.ino = 131\nstat.type = regular file\nstat.size = 2097152\nstat.blocks = 4096\nstat.attributes = ${attrs}\nstat.attributes_mask = 0x203070\nstat.nlink = 1\n`;
  t.equal(statxAttributes(out('0x200000')), 0x200000);
  t.equal(statxAttributes(out('0x0')), 0);
  t.equal(statxAttributes(out('0x200010')), 0x200010);
  t.equal(statxAttributes('stat.attributes_mask = 0x203070\n'), undefined, 'the mask line is not the attributes');
  t.equal(statxAttributes(''), undefined);
  t.equal(statxAttributes('xfs_io: statx not supported\n'), undefined);
});

t.test('mountOptions', async (t) => {
  const mounts = [
    '/dev/vda / ext4 rw,relatime 0 0',
    'proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0',
    '/dev/pmem0 /mnt/pmem ext4 rw,relatime,dax=always 0 0',
    '/dev/pmem1 /mnt/pmem2 xfs rw,relatime,attr2,dax=inode,inode64 0 0',
    '',
  ].join('\n');
  t.equal(mountOptions(mounts, '/mnt/pmem'), 'rw,relatime,dax=always');
  t.equal(mountOptions(mounts, '/mnt/pmem2'), 'rw,relatime,attr2,dax=inode,inode64', 'exact mount point, not a prefix');
  t.equal(mountOptions(mounts, '/mnt'), undefined);
  t.equal(mountOptions(mounts, '/mnt/other'), undefined);
  t.equal(mountOptions(`${mounts}/dev/pmem0 /mnt/pmem ext4 rw,relatime 0 0\n`, '/mnt/pmem'), 'rw,relatime', 'the last (top) mount wins');
  t.equal(mountOptions('', '/'), undefined);
});

t.test('looksLikeTap', async (t) => {
  t.ok(looksLikeTap('TAP version 14\n1..1\nok 1\n'));
  t.ok(looksLikeTap('some noise\nTAP version 13\n'));
  t.ok(looksLikeTap('1..2\nok 1 - a\nnot ok 2 - b\n'));
  t.ok(looksLikeTap('ok 1 - a\n1..1\n'), 'trailing plan');
  t.notOk(looksLikeTap('Linux 7.2.13 x86_64\n'));
  t.notOk(looksLikeTap('ok\n'), 'ok alone, no plan');
  t.notOk(looksLikeTap('1..2\n'), 'a plan alone');
  t.notOk(looksLikeTap('looks ok 1..2 fine\n'), 'not at line starts');
  t.notOk(looksLikeTap(''));
});

t.test('judgeTap', async (t) => {
  t.same(await judgeTap('TAP version 14\n1..2\nok 1 - a\nok 2 - b\n'), { ok: true, failures: [], count: 2 });
  t.same(await judgeTap('1..3\nok 1 - a\nnot ok 2 - b\nnot ok 3 - c\n'), { ok: false, failures: ['2 - b', '3 - c'], count: 3 });
  t.same(await judgeTap('1..2\nnot ok 1 - later # TODO not yet\nok 2 - b # SKIP no dev\n'), { ok: true, failures: [], count: 2 }, 'todo and skip are not failures');
  const short = await judgeTap('1..3\nok 1 - a\n');
  t.equal(short.ok, false, 'fewer points than planned');
  t.same(short.failures, []);
  const bail = await judgeTap('1..2\nok 1 - a\nBail out! no device\n');
  t.equal(bail.ok, false, 'bail out fails');
  t.equal((await judgeTap('ok 1 - a\nok 2 - b\n1..2\n')).ok, true, 'trailing plan');
  t.equal((await judgeTap('TAP version 14\n# Subtest: s\n    1..1\n    not ok 1 - inner\nnot ok 1 - s\n1..1\n')).ok, false, 'failing subtest');
});

t.test('asArray and chardevOf', async (t) => {
  t.same(asArray(undefined), []);
  t.same(asArray(null), []);
  t.same(asArray({ a: 1 }), [{ a: 1 }]);
  t.same(asArray([1, 2]), [1, 2]);
  t.same(asArray([]), []);
  t.equal(chardevOf({ dev: 'namespace0.0', mode: 'devdax', size: 1, chardev: 'dax0.0' }), 'dax0.0');
  t.equal(chardevOf({ dev: 'namespace0.0', mode: 'devdax', size: 1, daxregion: { devices: [{ chardev: 'dax0.1' }, { chardev: 'dax0.2' }] } }), 'dax0.1');
  t.equal(chardevOf({ dev: 'namespace0.0', mode: 'devdax', size: 1, chardev: 'dax0.0', daxregion: { devices: [{ chardev: 'dax9.9' }] } }), 'dax0.0', 'top-level chardev wins');
  t.equal(chardevOf({ dev: 'namespace0.0', mode: 'fsdax', size: 1, blockdev: 'pmem0' }), undefined);
  t.equal(chardevOf({ dev: 'namespace0.0', mode: 'devdax', size: 1, daxregion: { devices: [] } }), undefined);
});

// ---------------------------------------------------------------- ramdax step (bind; lifecycle flows: ramdax-lifecycle.test.ts)

const ramdaxParams = (v: unknown = {}) => ramdaxStep.schema.parse(v);

t.test('ramdax: skipped, without touching the guest, when the kernel has no ramdax', async (t) => {
  const guest = new FakeGuest([]);
  const out = await ramdaxStep.run(ctxOf(guest, { ramdax: 'absent' }), ramdaxParams());
  t.equal(out.status, 'skip');
  t.equal(out.skipRest, true, 'the rest of the case is skipped too');
  t.match(out.reason, /kernel 7\.2\.13\+deb14-amd64 has no ramdax driver \(CONFIG_RAMDAX not set\)/);
  t.same(guest.log, [], 'no guest command ran');
});

t.test('ramdax: nd_e820 control is not skipped when ramdax is absent', async (t) => {
  const guest = new FakeNd(1, {}, 'e820_pmem');
  guest.holder = 'e820_pmem';
  const out = await ramdaxStep.run(ctxOf(guest, { ramdax: 'absent' }), ramdaxParams({ driver: 'nd_e820' }));
  t.equal(out.status, 'pass', out.reason ?? 'passed');
  t.same(out.details?.buses, ['e820']);
});

t.test('ramdax: passes with one ramdax DIMM and region for one carve-out', async (t) => {
  const guest = new FakeNd(1, {}, 'e820_pmem');
  guest.holder = 'e820_pmem';
  const out = await ramdaxStep.run(ctxOf(guest), ramdaxParams());
  t.equal(out.status, 'pass', out.reason ?? 'passed');
  t.equal(out.reason, undefined);
  t.equal(out.details?.dimms, 1);
  t.same(out.details?.regions, [{ dev: 'region0', size: G, align: 16 * M, available: G }]);
  t.same(out.details?.buses, ['ramdax']);
  t.equal(out.details?.switchedFrom, 'e820_pmem', 'the built-in e820 driver held it first');
  t.ok(guest.log.includes('echo ramdax > /sys/bus/platform/devices/e820_pmem/driver_override'), 'driver_override set');
  const unbind = guest.log.indexOf('echo e820_pmem > /sys/bus/platform/drivers/e820_pmem/unbind');
  const bind = guest.log.indexOf('echo e820_pmem > /sys/bus/platform/drivers/ramdax/bind');
  t.ok(unbind >= 0 && bind > unbind, 'unbound from e820_pmem, then bound to ramdax');
  t.equal(out.commands.length, guest.log.length, 'every command is recorded');
});

t.test('ramdax: already bound to ramdax, two carve-outs', async (t) => {
  const guest = new FakeNd(2);
  guest.holder = 'ramdax';
  const out = await ramdaxStep.run(ctxOf(guest, { carveOuts: [{ size: G, start: 4 * G }, { size: G, start: 6 * G }] }), ramdaxParams());
  t.equal(out.status, 'pass', out.reason ?? 'passed');
  t.notOk(guest.log.some((c) => /unbind$|\/bind$/.test(c)), 'no rebinding needed');
  t.equal(out.details?.dimms, 2);
});

t.test('ramdax: fails with a clear reason when the DIMM or region count differs', async (t) => {
  const guest = new FakeNd(2);
  const out = await ramdaxStep.run(ctxOf(guest), ramdaxParams());
  t.equal(out.status, 'fail');
  t.equal(out.reason, 'after binding ramdax: expected 1 DIMM(s) on the ramdax bus, ndctl shows 2 (+1 more: expected 1 region(s), ndctl shows 2)');
  const out2 = await ramdaxStep.run(ctxOf(new FakeNd(1)), ramdaxParams({ expect: { regions: 0 } }));
  t.equal(out2.reason, 'after binding ramdax: expected 0 region(s), ndctl shows 1');
});

t.test('ramdax: explicit expect overrides the carve-out count', async (t) => {
  const out = await ramdaxStep.run(ctxOf(new FakeNd(2)), ramdaxParams({ expect: { dimms: 2, regions: 2 } }));
  t.equal(out.status, 'pass', out.reason ?? 'passed');
  const out2 = await ramdaxStep.run(ctxOf(new FakeNd(1)), ramdaxParams({ expect: { dimms: 3 } }));
  t.equal(out2.reason, 'after binding ramdax: expected 3 DIMM(s) on the ramdax bus, ndctl shows 1');
});

t.test('ramdax: no e820_pmem device (memmap missing or outside RAM)', async (t) => {
  const guest = new FakeNd(1);
  guest.replies.push([/^test -e /, () => ({ exitCode: 1 })]);
  const out = await ramdaxStep.run(ctxOf(guest), ramdaxParams());
  t.equal(out.status, 'fail');
  t.match(out.reason, /^no \/sys\/bus\/platform\/devices\/e820_pmem: the kernel made no legacy PMEM range/);
  t.equal(guest.log.length, 1, 'stops after the first check');
});

t.test('ramdax: bind does not take', async (t) => {
  const out = await ramdaxStep.run(ctxOf(new FakeNd(1, { bindFails: true })), ramdaxParams());
  t.equal(out.status, 'fail');
  t.match(out.reason, /^exit 1: echo e820_pmem > \/sys\/bus\/platform\/drivers\/ramdax\/bind — sh: echo: I\/O error/);
});

t.test('ramdax: ndctl prints garbage', async (t) => {
  const guest = new FakeNd(1);
  guest.replies.push([/^for f in \/sys\/bus\/nd\/devices\/ndbus\*\/wait_probe/, () => ({ stdout: '--- ndctl\nlibndctl: oops\n' })]);
  const out = await ramdaxStep.run(ctxOf(guest), ramdaxParams());
  t.equal(out.status, 'fail');
  t.match(out.reason, /^before the bind: ndctl list printed something that is not JSON: --- ndctl\nlibndctl: oops/);
});

// ---------------------------------------------------------------- namespace step

const nsParams = (v: unknown) => namespaceStep.schema.parse(v);

/** ndctl create-namespace prints human sizes; ndctl list prints numbers. */
function ndctl(created: Record<string, unknown>, listed: Record<string, unknown> | Record<string, unknown>[]): Handler[] {
  return [
    [/^ndctl create-namespace /, () => ({ stdout: `${JSON.stringify(created, null, 2)}\n` })],
    [/^ndctl list -N -n namespace0\.0$/, () => ({ stdout: `${JSON.stringify(listed)}\n` })],
  ];
}

t.test('namespace: create fails when ndctl reports a different mode', async (t) => {
  const guest = new FakeGuest(
    ndctl(
      { dev: 'namespace0.0', mode: 'raw', size: '256.00 MiB (268.44 MB)', uuid: 'u', blockdev: 'pmem0' },
      { dev: 'namespace0.0', mode: 'raw', size: 256 * M, uuid: 'u', blockdev: 'pmem0' },
    ),
  );
  const out = await namespaceStep.run(ctxOf(guest), nsParams({ mode: 'fsdax', size: '256M', as: 'pm' }));
  t.equal(out.status, 'fail');
  t.equal(out.reason, 'asked for mode fsdax, ndctl reports raw');
  t.equal(guest.log[0], 'ndctl create-namespace -m fsdax -s 268435456');
});

t.test('namespace: fsdax create passes and is remembered for later steps', async (t) => {
  const guest = new FakeGuest(
    ndctl(
      { dev: 'namespace0.0', mode: 'fsdax', map: 'dev', size: '252.00 MiB (264.24 MB)', uuid: 'u-1', sector_size: 512, align: 2 * M, blockdev: 'pmem0' },
      [{ dev: 'namespace0.0', mode: 'fsdax', map: 'dev', size: 252 * M, uuid: 'u-1', sector_size: 512, align: 2 * M, blockdev: 'pmem0' }],
    ),
  );
  const ctx = ctxOf(guest);
  const out = await namespaceStep.run(ctx, nsParams({ mode: 'fsdax', size: '256M', align: '2M', map: 'dev', region: 'region0', as: 'pm' }));
  t.equal(out.status, 'pass', out.reason ?? 'passed');
  t.equal(guest.log[0], 'ndctl create-namespace -m fsdax -r region0 -s 268435456 -a 2097152 -M dev');
  t.same(ctx.namespaces.get('pm'), { dev: 'namespace0.0', mode: 'fsdax', size: 252 * M, uuid: 'u-1', align: 2 * M, blockdev: 'pmem0', chardev: undefined });
});

t.test('namespace: devdax chardev found under daxregion', async (t) => {
  const ns = { dev: 'namespace0.0', mode: 'devdax', map: 'dev', size: 126 * M, uuid: 'u-2', daxregion: { id: 0, size: 126 * M, align: 2 * M, devices: [{ chardev: 'dax0.0', size: 126 * M }] }, align: 2 * M };
  const guest = new FakeGuest(ndctl(ns, ns));
  const ctx = ctxOf(guest);
  const out = await namespaceStep.run(ctx, nsParams({ mode: 'devdax', size: '128M', align: '2M', as: 'dd' }));
  t.equal(out.status, 'pass', out.reason ?? 'passed');
  t.equal(ctx.namespaces.get('dd')?.chardev, 'dax0.0');
});

t.test('namespace: size larger than asked, wrong align, missing devices', async (t) => {
  const big = { dev: 'namespace0.0', mode: 'fsdax', size: 512 * M, blockdev: 'pmem0', align: 2 * M };
  let out = await namespaceStep.run(ctxOf(new FakeGuest(ndctl(big, big))), nsParams({ mode: 'fsdax', size: '256M' }));
  t.equal(out.reason, `asked for 268435456 bytes, ndctl reports ${512 * M}`);
  out = await namespaceStep.run(ctxOf(new FakeGuest(ndctl(big, big))), nsParams({ mode: 'fsdax', align: '1G' }));
  t.equal(out.reason, `asked for align ${G}, ndctl reports ${2 * M}`);
  out = await namespaceStep.run(ctxOf(new FakeGuest(ndctl(big, big))), nsParams({ mode: 'fsdax', expect: { size: '256M' } }));
  t.equal(out.reason, `expected size 268435456, ndctl reports ${512 * M}`);
  const noDev = { dev: 'namespace0.0', mode: 'devdax', size: 256 * M };
  out = await namespaceStep.run(ctxOf(new FakeGuest(ndctl(noDev, noDev))), nsParams({ mode: 'devdax' }));
  t.equal(out.reason, 'devdax namespace has no chardev');
  const noBlk = { dev: 'namespace0.0', mode: 'sector', size: 256 * M };
  out = await namespaceStep.run(ctxOf(new FakeGuest(ndctl(noBlk, noBlk))), nsParams({ mode: 'sector' }));
  t.equal(out.reason, 'sector namespace has no blockdev');
});

t.test('namespace: ndctl create-namespace fails', async (t) => {
  const guest = new FakeGuest([[/^ndctl create-namespace /, () => ({ exitCode: 1, stderr: 'failed to create namespace: No space left on device\n' })]]);
  const out = await namespaceStep.run(ctxOf(guest), nsParams({ mode: 'fsdax', size: '2G' }));
  t.equal(out.status, 'fail');
  t.equal(out.reason, 'exit 1: ndctl create-namespace -m fsdax -s 2147483648 — failed to create namespace: No space left on device');
  t.equal(out.commands.length, 1);
  t.equal(out.commands[0]?.exitCode, 1);
});

t.test('namespace: destroy by name and all', async (t) => {
  const namespaces = new Map<string, NamespaceInfo>([
    ['pm', { dev: 'namespace0.0', mode: 'fsdax', size: 256 * M, blockdev: 'pmem0' }],
    ['dd', { dev: 'namespace0.1', mode: 'devdax', size: 256 * M, chardev: 'dax0.1' }],
  ]);
  const guest = new FakeGuest([[/^ndctl destroy-namespace -f \S+$/, () => ({ stderr: 'destroyed 1 namespace\n' })]]);
  const ctx = ctxOf(guest, { namespaces });
  let out = await namespaceStep.run(ctx, nsParams({ action: 'destroy', target: 'pm' }));
  t.equal(out.status, 'pass', out.reason ?? 'passed');
  t.same(guest.log, ['ndctl destroy-namespace -f namespace0.0']);
  t.same([...ctx.namespaces.keys()], ['dd']);
  out = await namespaceStep.run(ctx, nsParams({ action: 'destroy', target: 'all' }));
  t.equal(out.status, 'pass');
  t.equal(guest.log.at(-1), 'ndctl destroy-namespace -f all');
  t.equal(ctx.namespaces.size, 0);
  out = await namespaceStep.run(ctx, nsParams({ action: 'destroy', target: 'pm' }));
  t.equal(out.status, 'fail');
  t.equal(out.reason, "namespace 'pm' was not created");
});

// ---------------------------------------------------------------- run and dax-active steps

t.test('run: exit status, stdout regex, TAP pass-through', async (t) => {
  const tap = 'TAP version 14\n1..2\nok 1 - a\nnot ok 2 - b\n';
  const guest = new FakeGuest([
    [/^uname -r$/, () => ({ stdout: '7.2.13+deb14-amd64\n' })],
    [/^false$/, () => ({ exitCode: 1, stderr: 'first\nlast line\n' })],
    [/^guest-tests$/, () => ({ stdout: tap })],
  ]);
  const params = (v: unknown) => runStep.schema.parse(v);
  t.equal((await runStep.run(ctxOf(guest), params({ command: 'uname -r', expect: { stdout: '^\\d+\\.\\d+\\.\\d+' } }))).status, 'pass');
  const nomatch = await runStep.run(ctxOf(guest), params({ command: 'uname -r', expect: { stdout: '^6\\.' } }));
  t.equal(nomatch.reason, 'stdout does not match /^6\\./');
  const bad = await runStep.run(ctxOf(guest), params({ command: 'false' }));
  t.equal(bad.reason, 'exit 1, expected 0 — last line');
  t.equal((await runStep.run(ctxOf(guest), params({ command: 'false', expect: { exit: 1 } }))).status, 'pass');
  const sub = await runStep.run(ctxOf(guest), params({ command: 'guest-tests' }));
  t.equal(sub.status, 'fail');
  t.equal(sub.reason, 'guest TAP failed: 2 - b');
  t.equal(sub.subtap, tap);
  t.equal(sub.details?.tapPoints, 2);
  const off = await runStep.run(ctxOf(guest), params({ command: 'guest-tests', tap: false }));
  t.equal(off.status, 'pass', 'tap: false ignores TAP-looking output');
  t.equal(off.subtap, undefined);
});

t.test('dax-active: statx attribute decides', async (t) => {
  const statx = (attrs: string): Handler => [/^xfs_io -r -c 'statx -r' \/mnt\/pmem\/f$/, () => ({ stdout: `stat.ino = 12\nstat.attributes = ${attrs}\nstat.attributes_mask = 0x203070\n` })];
  const dd: Handler = [/^dd if=\/dev\/urandom of=\/mnt\/pmem\/f bs=1M count=2 conv=fsync status=none$/, () => ({})];
  const params = (v: unknown) => daxActiveStep.schema.parse(v);
  let out = await daxActiveStep.run(ctxOf(new FakeGuest([dd, statx('0x200000')])), params({ path: '/mnt/pmem/f' }));
  t.equal(out.status, 'pass', out.reason ?? 'passed');
  t.equal(out.details?.dax, true);
  out = await daxActiveStep.run(ctxOf(new FakeGuest([dd, statx('0x0')])), params({ path: '/mnt/pmem/f' }));
  t.equal(out.status, 'fail');
  t.equal(out.reason, 'statx attributes 0x0: STATX_ATTR_DAX (0x200000) is clear, expected set');
  out = await daxActiveStep.run(ctxOf(new FakeGuest([statx('0x0')])), params({ path: '/mnt/pmem/f', write: false, expect: false }));
  t.equal(out.status, 'pass', 'control case: clear and expected clear');
  out = await daxActiveStep.run(ctxOf(new FakeGuest([dd, [/^xfs_io/, () => ({ stdout: 'nothing useful\n' })]])), params({ path: '/mnt/pmem/f' }));
  t.equal(out.reason, 'no stat.attributes in xfs_io statx output');
});

t.test('a timed-out guest command fails the step with the command', async (t) => {
  const guest = new FakeGuest([[/^sleep/, () => ({ exitCode: null, timedOut: true, durationMs: 9_000 })]]);
  const out = await runStep.run(ctxOf(guest), runStep.schema.parse({ command: 'sleep 100' }));
  t.equal(out.status, 'fail');
  t.equal(out.reason, 'timed out after 9s: sleep 100');
});

t.test('errorLine: the error, not the usage text after it', async (t) => {
  const { errorLine } = await import('../../harness/steps/recorder.js');
  t.equal(errorLine('Log size must be at least 64MB.\nUsage: mkfs.xfs\n/* blocksize */\t\t[-b size=num]\n'), 'Log size must be at least 64MB.');
  t.equal(errorLine('warning: x\nfatal: y\n'), 'fatal: y', 'otherwise the last line');
  t.equal(errorLine(''), '');
});
