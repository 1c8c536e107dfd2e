/**
 * Real QEMU, real Debian kernels: Debian 6.19 (vmlinuz only: no ramdax, no
 * disk/network drivers) takes the console-only path — its boot is verified,
 * every step is a SKIP with the reason, exit 0 — and Debian 7.3 (modular,
 * CONFIG_RAMDAX=m) binds ramdax for real. `kernel fetch` is cached: a second
 * fetch does nothing. The source kernel (linux-source-7.2 + ramdax.config +
 * the marker patch, everything built in) is built once (cached across runs in
 * the harness cache; a cold build takes minutes), found again without make,
 * and boots the built-in ramdax with the patched probe and daxctl's
 * system-ram mode (kmem built in: the guest learns it from modules.builtin).
 */
import t from 'tap';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { cli, parseTap, tempDir } from '../helpers/cli.js';

const tail = (s: unknown) => String(s).split('\n').slice(-15).join('\n');

t.test('kernel fetch: 6.19 (probed) and 7.3 (config)', async (t) => {
  for (const k of ['debian-6.19', 'debian-7.3']) {
    const r = await cli(['kernel', 'fetch', k]);
    t.equal(r.exitCode, 0, `${k}: fetched (stderr: ${tail(r.stderr)})`);
  }
  const info = await cli(['kernel', 'info', 'debian-6.19']);
  t.match(info.stdout, /release: +6\.19\.\d+\+deb13-amd64/);
  t.match(info.stdout, /boot: +console only \(no virtio_blk\/ext4\/virtio_net to reach SSH\)/);
  t.match(info.stdout, /probed: \/sys\/bus\/platform\/drivers\/ramdax absent/);
  t.match(info.stdout, /vmlinuz: [0-9a-f]{64}/);
  const again = await cli(['kernel', 'fetch', 'debian-7.3']);
  t.match(again.stdout, /already cached/, 'a second fetch does nothing');
  const list = await cli(['kernel', 'list']);
  t.match(list.stdout, /^debian-6\.19 +debian +6\.19\.\d+\+deb13-amd64 +absent$/m);
  t.match(list.stdout, /^debian-7\.3 +debian +7\.3\.\d+\+deb13-amd64 +module$/m);
});

t.test('Debian 6.19: console-only boot passes, every step is a SKIP with the reason', async (t) => {
  const results = await tempDir('ramdax-it-k619-');
  const run = await cli(['run', 'scenarios/boot-smoke.yaml', 'scenarios/ramdax-bind.yaml', '--kernel', 'debian-6.19', '--results', results]);
  t.equal(run.exitCode, 0, `exit 0: skips are not failures (stderr: ${tail(run.stderr)})`);
  const tap = await parseTap(String(run.stdout));
  t.same(tap.tapErrors, []);
  t.same(tap.extra, [], 'stdout is nothing but TAP');
  t.same(tap.points.map((p) => [p.name, p.ok, !!p.skip]), [['boot-smoke', true, true], ['ramdax-bind', true, true]], 'both cases skip');
  t.equal(tap.nested.get('boot-smoke > boot'), true, 'the boot point passes');
  t.equal(tap.nested.get('ramdax-bind > boot'), true);
  t.equal(tap.nested.get('ramdax-bind > shutdown'), true, 'clean power-off');
  t.match(String(run.stdout), /ok 2 - bind e820_pmem to ramdax # SKIP kernel 6\.19\.\d+\+deb13-amd64 has no ramdax driver \(probed: \/sys\/bus\/platform\/drivers\/ramdax absent\); no virtio_blk\/ext4\/virtio_net to reach SSH/);
  const runDir = join(results, (await readdir(results))[0]!);
  const json = JSON.parse(await readFile(join(runDir, 'results.json'), 'utf8'));
  t.equal(json.status, 'skip');
  for (const c of json.cases) {
    t.match(c.kernel.release, /^6\.19\.\d+\+deb13-amd64$/);
    t.equal(c.kernel.capabilities.from, 'probe');
    t.equal(c.kernel.capabilities.options.RAMDAX, 'absent');
    t.match(c.kernel.sha256.vmlinuz, /^[0-9a-f]{64}$/);
    const boot = c.points[0];
    t.equal(boot.status, 'pass', `${c.id}: boot ${boot.reason ?? ''}`);
    t.equal(boot.details.consoleOnly, true);
    t.equal(boot.details.e820Pmem, true, `${c.id}: the carve-out made e820_pmem`);
    t.equal(boot.details.pmem.length, 1, `${c.id}: one legacy PMEM range`);
    t.ok(c.points.filter((p: { kind: string }) => p.kind === 'step').every((p: { status: string }) => p.status === 'skip'), `${c.id}: every step skipped`);
    const console = await readFile(join(runDir, c.files.console), 'utf8');
    t.match(console, /Linux version 6\.19/);
    t.match(console, /harness-probe: done/);
  }
  const smoke = json.cases.find((c: { id: string }) => c.id === 'boot-smoke');
  t.same(smoke.points[0].details.pmem, ['100000000-11fffffff : Persistent Memory (legacy)'], 'memmap=512M!4G landed where asked');
});

t.test('Debian 7.3: ramdax-bind passes for real', async (t) => {
  const results = await tempDir('ramdax-it-k73-');
  const run = await cli(['run', 'scenarios/ramdax-bind.yaml', '--kernel', 'debian-7.3', '--results', results]);
  t.equal(run.exitCode, 0, `exit 0 (stderr: ${tail(run.stderr)})`);
  const tap = await parseTap(String(run.stdout));
  t.ok(tap.ok);
  t.same(tap.points.map((p) => [p.name, p.ok, !!p.skip]), [['ramdax-bind', true, false]]);
  const runDir = join(results, (await readdir(results))[0]!);
  const c = JSON.parse(await readFile(join(runDir, 'results.json'), 'utf8')).cases[0];
  t.match(c.kernel.release, /^7\.3\.\d+\+deb13-amd64$/);
  t.equal(c.kernel.capabilities.from, 'config');
  t.equal(c.kernel.capabilities.options.RAMDAX, 'module');
  t.same(c.points[1].details.buses, ['ramdax'], 'ndctl saw a ramdax bus');
  t.ok(c.points.every((p: { status: string }) => p.status === 'pass'));
});

t.test('source-7.2: built once, reused, boots the patched built-in ramdax; daxctl system-ram works', async (t) => {
  const first = await cli(['kernel', 'build', 'source-7.2'], { timeoutMs: 45 * 60_000 });
  t.equal(first.exitCode, 0, `kernel build exits 0 (stderr: ${tail(first.stderr)})`);
  const again = await cli(['kernel', 'build', 'source-7.2']);
  t.equal(again.exitCode, 0);
  t.match(String(again.stdout), /^kernel source-7\.2: 7\.2\.\d+ already cached in /m, 'the second request is a cache hit');
  t.notMatch(String(again.stderr), /make -j\d+ bzImage|configuring/, 'no Kconfig, no make');

  const results = await tempDir('ramdax-it-src72-');
  const run = await cli(['run', 'scenarios/ramdax-bind.yaml', 'scenarios/devdax-system-ram.yaml', '--filter', 'ramdax-bind', '--filter', 'devdax-system-ram*ramdax*', '--kernel', 'source-7.2', '--results', results]);
  t.equal(run.exitCode, 0, `exit 0 (stderr: ${tail(run.stderr)})`);
  const runDir = join(results, (await readdir(results))[0]!);
  const cases = JSON.parse(await readFile(join(runDir, 'results.json'), 'utf8')).cases;
  t.same(cases.map((c: { status: string }) => c.status), ['pass', 'pass'], 'both cases pass');
  const bind = cases.find((c: { id: string }) => c.id.startsWith('ramdax-bind'));
  t.equal(bind.kernel.kind, 'source');
  t.equal(bind.kernel.capabilities.options.RAMDAX, 'builtin');
  t.match(bind.kernel.source, /linux-source-7\.2=.* \+ patches 0001-ramdax-harness-probe-marker\.patch/);
  const dmesg = await readFile(join(runDir, (await readdir(runDir)).find((d) => d.startsWith('ramdax-bind'))!, 'dmesg.txt'), 'utf8');
  t.match(dmesg, /ramdax-harness: test patch applied/, 'the patched ramdax probed');
});
