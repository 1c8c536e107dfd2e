/**
 * Real QEMU: cases of a `shareBoot` scenario run in one VM; a case that leaves
 * the device changed fails its hand-over check and the next case boots afresh.
 */
import t from 'tap';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { cli, parseTap, tempDir } from '../helpers/cli.js';

const results = await tempDir('ramdax-share-');
const run = await cli(['run', 'test/fixtures/scenarios/share-boot.yaml', '--results', results]);
const runDir = join(results, (await readdir(results))[0] ?? 'missing');
const json = JSON.parse(await readFile(join(runDir, 'results.json'), 'utf8'));
type Point = { name: string; kind: string; status: string; durationMs: number; details?: Record<string, unknown> };
const byId = (id: string) => json.cases.find((c: { id: string }) => c.id === id) as { status: string; bootId: string; points: Point[]; qemuArgv: string[] };
const [first, second, third] = ['first', 'second', 'third'].map((e) => byId(`share-boot[end=${e}]`));

t.test('exit 1 and strict TAP', async (t) => {
  t.equal(run.exitCode, 1, String(run.stderr).slice(-2000));
  const tap = await parseTap(String(run.stdout));
  t.same(tap.tapErrors, []);
  t.same(tap.points.map((p) => [p.name, p.ok]), [['share-boot[end=first]', true], ['share-boot[end=second]', false], ['share-boot[end=third]', true]]);
});

t.test('the second case ran in the first case\'s boot', async (t) => {
  t.equal(first!.bootId, 'share-boot[end=first]');
  t.equal(second!.bootId, 'share-boot[end=first]', 'bootId names the boot used');
  t.equal(second!.points[0]!.name, 'boot (shared with share-boot[end=first])');
  t.equal(second!.points[0]!.durationMs, 0);
  t.same(first!.points.at(-1)!.kind, 'handover', 'the first case handed the guest on');
  t.equal(first!.points.at(-1)!.status, 'pass');
  t.notOk(first!.points.some((p) => p.kind === 'shutdown'), 'no shutdown in a case that hands over');
});

t.test('a case that leaves a namespace fails its hand-over; the next boots afresh', async (t) => {
  const handover = second!.points.find((p) => p.kind === 'handover')!;
  t.equal(handover.status, 'fail');
  t.match(String(handover.details?.after), /"mode":"fsdax"/, 'the namespace left behind is shown');
  t.equal(second!.points.at(-1)!.kind, 'shutdown', 'the dirty guest was shut down');
  t.equal(third!.bootId, 'share-boot[end=third]', 'third case booted its own VM');
  t.equal(third!.points[0]!.name, 'boot');
  t.ok(third!.points.every((p) => p.status === 'pass'), 'and passed');
});
