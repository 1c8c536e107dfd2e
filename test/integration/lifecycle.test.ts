/**
 * Real QEMU: the ramdax step's "nothing left behind" check against a real
 * kernel that is left with something behind. An fsdax namespace stays
 * mounted while e820_pmem is unbound; the unbind succeeds, the mount stays
 * with its device gone, and the check must fail and say so (the default
 * run's scenarios/lifecycle.yaml expects that orphan mount and passes). (The checks against every
 * other kind of leftover are unit tests on fake sysfs listings:
 * test/unit/nd-sysfs.test.ts, test/unit/ramdax-lifecycle.test.ts.)
 * Also: a kernel without kmemleak gets no `kmemleak scan` point.
 */
import t from 'tap';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { cli, parseTap, tempDir } from '../helpers/cli.js';

const results = await tempDir('ramdax-lifecycle-');
const run = await cli(['run', 'test/fixtures/scenarios/unbind-mounted.yaml', '--results', results]);
const runDir = join(results, (await readdir(results))[0] ?? 'missing');
const json = JSON.parse(await readFile(join(runDir, 'results.json'), 'utf8'));
type Point = { name: string; kind: string; status: string; reason?: string; details?: Record<string, unknown> };
const unsaid = json.cases[0] as { status: string; reason?: string; points: Point[] };

t.test('exit 1 and strict TAP', async (t) => {
  t.equal(run.exitCode, 1, String(run.stderr).slice(-2000));
  const tap = await parseTap(String(run.stdout));
  t.same(tap.tapErrors, []);
  t.same(tap.points.map((p) => [p.name, p.ok]), [['unbind-mounted', false]]);
});

t.test('the unbind point fails, naming the mount whose device is gone', async (t) => {
  const p = unsaid.points.find((x) => x.name === 'unbind e820_pmem')!;
  t.equal(p.status, 'fail');
  t.match(p.reason, /^unbind left something behind: \/dev\/pmem\S+ is still mounted on \/mnt\/pmem \(ext4\), its device is gone$/);
  t.same(p.details?.problems, [p.reason!.replace(/^unbind left something behind: /, '')], 'the mount is the only thing left: bus, DIMM, region, namespace, /dev nodes are all gone');
  t.ok(unsaid.points.filter((x) => x.kind === 'step' && x !== p).slice(0, 4).every((x) => x.status === 'pass'), 'the steps before it passed');
  t.equal(unsaid.points.find((x) => x.name === 'umount /mnt/pmem')?.status, 'miss');
});

t.test('no kmemleak point on a kernel without kmemleak', async (t) => {
  t.notOk(unsaid.points.some((p) => p.kind === 'leakcheck'));
});
