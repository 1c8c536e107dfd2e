/**
 * Real QEMU: boots the default kernel and image (set up by `ramdax-harness
 * setup`) and runs the four core scenarios, as a newcomer would. (The whole
 * default folder, matrices included, is run by the README's first command.)
 */
import t from 'tap';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { cli, parseTap, root, tempDir } from '../helpers/cli.js';
import { diffShapes, readShape, type RunShape } from '../helpers/run-shape.js';

const results = await tempDir('ramdax-it-');
const core = ['boot-smoke', 'ramdax-bind', 'fsdax-ext4', 'devdax-roundtrip'].map((n) => `scenarios/${n}.yaml`);
const run = await cli(['run', ...core, '--results', results]);
const runDir = join(results, (await readdir(results))[0] ?? 'missing');

t.test('the core scenarios pass on real QEMU', async (t) => {
  t.equal(run.exitCode, 0, `exit status 0 (stderr tail: ${String(run.stderr).split('\n').slice(-15).join('\n')})`);
  const tap = await parseTap(String(run.stdout));
  t.same(tap.extra, [], 'stdout is nothing but TAP');
  t.same(tap.tapErrors, [], 'TAP is strict-valid');
  t.ok(tap.ok, 'TAP says ok');
  t.same(tap.points.map((p) => p.name).sort(), ['boot-smoke', 'devdax-roundtrip', 'fsdax-ext4', 'ramdax-bind'], 'one point per shipped scenario');
  t.ok(tap.points.every((p) => p.ok && !p.skip), 'every case passed, none skipped');
  t.equal(tap.nested.get('fsdax-ext4 > DAX on /mnt/pmem/dax-probe (statx)'), true, 'statx DAX proof is a passing point');
});

t.test('results folder holds TAP, JSON, console log and dmesg', async (t) => {
  const tapText = await readFile(join(runDir, 'results.tap'), 'utf8');
  t.equal(tapText, String(run.stdout) + (String(run.stdout).endsWith('\n') ? '' : '\n'), 'results.tap is the TAP printed on stdout');
  const json = JSON.parse(await readFile(join(runDir, 'results.json'), 'utf8'));
  t.equal(json.status, 'pass');
  t.equal(json.cases.length, 4);
  t.match(json.qemu, /QEMU emulator version/);
  for (const c of json.cases) {
    t.match(c.kernel.release, /^7\.2\.\d+\+deb\d+-amd64$/, `${c.id}: exact kernel release recorded`);
    t.equal(c.accel.accel, 'tcg', `${c.id}: TCG here (KVM does not work on this host)`);
    t.ok(c.boot.firstCommandMs > c.boot.kernelStartedMs, `${c.id}: boot stages in order`);
    const console = await readFile(join(runDir, c.files.console), 'utf8');
    t.match(console, /Linux version 7\.2/, `${c.id}: console log holds the kernel banner`);
    t.match(console, /memmap=/, `${c.id}: console shows the memmap command line`);
    const dmesg = await readFile(join(runDir, c.files.dmesg), 'utf8');
    t.match(dmesg, /Command line: .*memmap=/, `${c.id}: dmesg saved`);
    t.ok((await stat(join(runDir, c.files.commands))).size > 0, `${c.id}: commands log written`);
  }
  const ramdax = json.cases.find((c: { id: string }) => c.id === 'ramdax-bind');
  t.same(ramdax.points[1].details.buses, ['ramdax'], 'ndctl saw a ramdax bus');
  const events = (await readFile(join(runDir, 'events.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  t.equal(events.filter((e) => e.type === 'case-ended').length, 4, 'one case-ended event per case');
  t.equal(events.filter((e) => e.type === 'case-started').length, 4, 'one case-started event per case');
  t.ok(events.some((e) => e.type === 'milestone' && e.name === 'firstCommandMs'), 'boot milestones are in the stream');
});

t.test('the run has the shape the default run had before the event stream (test/fixtures/golden-run)', async (t) => {
  const golden = JSON.parse(await readFile(join(root, 'test/fixtures/golden-run/default-run.shape.json'), 'utf8')) as RunShape;
  t.same(diffShapes(golden, await readShape(runDir), { subset: true }), [], 'each case as in the golden run; no key or TAP form it lacked');
});
