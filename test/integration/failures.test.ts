/**
 * Real QEMU: failures are results, never crashes — a failing command, a guest
 * kernel panic mid-step, and a kernel WARNING under a command that exits 0.
 */
import t from 'tap';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { cli, parseTap, tempDir } from '../helpers/cli.js';

const results = await tempDir('ramdax-fail-');
const started = Date.now();
const run = await cli(['run', 'test/fixtures/scenarios/step-fails.yaml', 'test/fixtures/scenarios/guest-panic.yaml', 'test/fixtures/scenarios/kernel-warning.yaml', '--results', results]);
const wall = Date.now() - started;
const runDir = join(results, (await readdir(results))[0] ?? 'missing');
const json = JSON.parse(await readFile(join(runDir, 'results.json'), 'utf8'));
const byId = (id: string) => json.cases.find((c: { id: string }) => c.id === id);

t.test('exit status 1, strict TAP, every case reported', async (t) => {
  t.equal(run.exitCode, 1, 'a failed test point gives exit 1');
  const tap = await parseTap(String(run.stdout));
  t.same(tap.tapErrors, [], 'TAP is strict-valid');
  t.same(tap.extra, [], 'nothing but TAP on stdout');
  t.same(tap.points.map((p) => [p.name, p.ok]), [['step-fails', false], ['guest-panic', false], ['kernel-warning', false]]);
  t.ok(wall < 3 * 60_000, `three failing cases end in bounded time (${(wall / 1000).toFixed(1)}s)`);
});

t.test('a failing command: diagnostic and missed rest', async (t) => {
  const c = byId('step-fails');
  t.same(c.points.map((p: { status: string }) => p.status), ['pass', 'pass', 'fail', 'miss', 'pass']);
  t.match(String(run.stdout), /not ok 3 - this command fails[^\n]*\n\s+---\n[\s\S]*?exit: 3[\s\S]*?something broke/, 'YAML diagnostic has exit status and stderr');
  t.match(String(run.stdout), /not ok 4 - run: echo never runs # miss: step 2/, 'later step marked missed');
});

t.test('a guest panic mid-step fails that step with the panic', async (t) => {
  const c = byId('guest-panic');
  t.equal(c.status, 'fail');
  const crash = c.points[2];
  t.equal(crash.status, 'fail');
  t.ok(crash.findings.some((f: { type: string }) => f.type === 'panic'), 'panic finding attached to the step');
  t.match(crash.reason, /Kernel panic - not syncing: sysrq triggered crash/);
  t.equal(c.points[3].status, 'miss');
  const { stdout: ps } = await execa('pgrep', ['-f', `ramdax-harness:${json.runId}:`], { reject: false });
  t.equal(ps.trim(), '', 'no QEMU left behind');
});

t.test('a WARNING with exit 0 fails the step', async (t) => {
  const c = byId('kernel-warning');
  const p = c.points[1];
  t.equal(p.status, 'fail');
  t.match(p.reason, /warning: WARNING: CPU PID at drivers\/nvdimm\/ramdax\.c:42 ramdax_probe/);
  t.match(p.reason, /the command itself succeeded/);
  t.ok(p.dmesg.some((l: string) => l.includes('WARNING:')), 'dmesg lines of the step kept');
});
