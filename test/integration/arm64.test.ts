/**
 * Real QEMU, arm64 guest under TCG: the device-tree path end to end in one
 * boot (test/fixtures/scenarios/arm64-lean.yaml), then the reproducer
 * bundle's repro.sh boots the same device tree (checked on the console up
 * to the kernel's memory line, not to sshd: the run proved SSH already).
 * Needs `setup --arch arm64` (run here; cached, it does nothing).
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { cli, parseTap, tempDir } from '../helpers/cli.js';
import { freeLoopbackPort } from '../../harness/vm/ports.js';

const sha256 = async (f: string) => createHash('sha256').update(await readFile(f)).digest('hex');

const setup = await cli(['setup', '--arch', 'arm64'], { timeoutMs: 30 * 60_000 });
const results = await tempDir('ramdax-arm64-');
const started = Date.now();
const run = await cli(['run', 'test/fixtures/scenarios/arm64-lean.yaml', '--results', results]);
const wall = Date.now() - started;
const runDir = join(results, (await readdir(results))[0] ?? 'missing');
const json = JSON.parse(await readFile(join(runDir, 'results.json'), 'utf8'));
const c = json.cases[0];
const caseDir = join(runDir, 'arm64-lean');

t.test('setup --arch arm64 has what the run needs', async (t) => {
  t.equal(setup.exitCode, 0, String(setup.stderr).split('\n').slice(-5).join('\n'));
  t.match(String(setup.stdout), /kernel debian-7\.2-arm64: 7\.2\.\d+\+deb\d+-arm64/);
  t.match(String(setup.stdout), /image default-arm64: (cached|built)/);
});

t.test('the arm64 case: device tree, ramdax, fsdax with DAX, then the deliberate failure', async (t) => {
  t.equal(run.exitCode, 1, 'the deliberate failure gives exit 1');
  const tap = await parseTap(String(run.stdout));
  t.same(tap.tapErrors, []);
  t.same(c.points.map((p: { name: string; status: string }) => [p.name, p.status]), [
    ['boot', 'pass'],
    ['bind pmem-region nodes to ramdax', 'pass'],
    ['create fsdax namespace 256M align 2M as pm', 'pass'],
    ['mkfs.ext4 pm', 'pass'],
    ['mount pm at /mnt/pmem -o dax=always', 'pass'],
    ['DAX on /mnt/pmem/probe (statx)', 'pass'],
    ['deliberate failure (the case gets a reproducer bundle)', 'fail'],
    ['shutdown', 'pass'],
  ]);
  t.same(c.machine, { arch: 'arm64', type: 'virt', cpus: 2, memoryBytes: 4 * 1024 ** 3 });
  t.equal(c.accel.accel, 'tcg');
  t.match(c.kernel.release, /-arm64$/);
  const bind = c.points[1];
  t.same(bind.details.devices.map((d: { name: string; node: string }) => [d.name, d.node]), [['120000000.pmem', '/sys/firmware/devicetree/base/pmem@120000000']], 'the platform device comes from the harness\'s node');
  t.same(Object.values(bind.details.bind).map((b) => (b as { driver: string }).driver), ['ramdax']);
  t.equal(bind.details.dimms, 1);
  t.equal(c.points[5].details.statxAttributes, '0x200000', 'STATX_ATTR_DAX');
  t.ok(c.boot.firstCommandMs > 0, `first SSH command ${(c.boot.firstCommandMs / 1000).toFixed(1)}s after QEMU started`);
  t.comment(`arm64 boot to first SSH command: ${(c.boot.firstCommandMs / 1000).toFixed(1)}s; whole run ${(wall / 1000).toFixed(0)}s`);
});

t.test('the case records the device tree it booted, by sha256', async (t) => {
  t.match(c.dtb.sha256, /^[0-9a-f]{64}$/);
  t.equal(await sha256(join(caseDir, 'guest.dtb')), c.dtb.sha256, 'the case folder keeps that DTB');
  t.equal(await sha256(c.dtb.path), c.dtb.sha256, 'the cache holds the same');
  t.match(c.dtb.edits, /pmem@120000000 \{\n\t\tcompatible = "pmem-region";\n\t\treg = <0x1 0x20000000 0x0 0x20000000>;/);
  t.match(c.dtb.edits, /linux,usable-memory-range = <0x0 0x40000000 0x0 0xe0000000>;/, 'RAM below the carve-out, which is the top of RAM');
  const argv: string[] = c.qemuArgv;
  t.equal(argv[argv.indexOf('-dtb') + 1], c.dtb.path, 'QEMU got it with -dtb');
  t.notMatch(c.cmdline, /memmap=/, 'no memmap= on arm64');
  const dts = await readFile(join(caseDir, 'guest.dts'), 'utf8');
  t.notMatch(dts, /rng-seed|kaslr-seed/, 'no per-boot random seeds in the tree');
});

t.test('the reproducer bundle boots the same device tree', async (t) => {
  const repro = join(caseDir, 'repro');
  const manifest = JSON.parse(await readFile(join(repro, 'case.json'), 'utf8'));
  t.equal(manifest.dtb.sha256, c.dtb.sha256);
  t.equal(await sha256(join(repro, 'guest.dtb')), c.dtb.sha256, 'the bundle carries the DTB');
  // The run above already proved the same tree end to end over SSH; here the
  // reproducer only has to boot it. The kernel's early "Memory:" line comes
  // from the tree's /chosen/linux,usable-memory-range (the top 512 MiB of the
  // 4 GiB guest carved out): QEMU's own tree would say 4194304K. Waiting for
  // that line instead of sshd keeps this second arm64 boot to seconds.
  const port = await freeLoopbackPort();
  const reproStarted = Date.now();
  const qemu = execa(join(repro, 'repro.sh'), [], { env: { PORT: String(port) }, reject: false, stdin: 'pipe', all: true, timeout: 4 * 60_000 });
  let out = '';
  qemu.all?.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 3 * 60_000;
  while (!/Memory: \d+K\/\d+K available/.test(out) && Date.now() < deadline && qemu.exitCode === null) await new Promise((r) => setTimeout(r, 200));
  qemu.kill('SIGTERM');
  await qemu;
  t.notMatch(out, /warning: .* is not the file the failing run used/, 'every hash matches');
  t.match(out, /Booting Linux on physical CPU/, 'the reproducer started the arm64 kernel');
  t.match(out, /Memory: \d+K\/3670016K available/, 'the kernel got 3.5 GiB of RAM: the carve-out of the bundle\'s tree is not memory');
  t.comment(`reproducer boot to the Memory: line ${((Date.now() - reproStarted) / 1000).toFixed(1)}s`);
});
