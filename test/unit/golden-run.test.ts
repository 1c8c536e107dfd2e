/**
 * The default run's shape before the event-stream refactor (recorded from a
 * real run, test/fixtures/golden-run/) against runs of the code as it is now:
 * boot-smoke through the real runner, fold, store and TAP, with the fake VM
 * replaying a recorded console and the guest answering as the real one did.
 */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExitCode } from '../../harness/common/exit-codes.js';
import { root } from '../helpers/cli.js';
import { healthy, run } from '../helpers/fake-run.js';
import { diffShapes, readShape, shapeOf, type RunShape } from '../helpers/run-shape.js';

const golden = async (name: string) => JSON.parse(await readFile(join(root, 'test/fixtures/golden-run', `${name}.shape.json`), 'utf8')) as RunShape;

t.test('boot-smoke now has the shape it had before: results.json keys, points, TAP forms', async (t) => {
  const r = await run(['scenarios/boot-smoke.yaml'], () => healthy());
  t.equal(r.exitCode, ExitCode.ok);
  const fresh = await readShape(r.run.dir);
  t.same(diffShapes(await golden('boot-smoke'), fresh), [], 'same shape as the recorded real run');
});

t.test('boot-smoke is the default run\'s boot-smoke, and a changed shape is noticed', async (t) => {
  const full = await golden('default-run');
  const one = await golden('boot-smoke');
  t.same(diffShapes(full, one, { subset: true }), [], 'the two golden files agree');
  const r = await run(['scenarios/boot-smoke.yaml'], () => healthy());
  const results = JSON.parse(await readFile(join(r.run.dir, 'results.json'), 'utf8'));
  const tap = await readFile(join(r.run.dir, 'results.tap'), 'utf8');
  delete results.cases[0].points[0].metrics;
  results.cases[0].points[1].status = 'skip';
  const diff = diffShapes(one, shapeOf(results, tap.replace(/# time=\S+/g, '# SKIP x')));
  t.ok(diff.some((l) => /^- results\.json key: \.cases\[\]\.points\[\]\.metrics/.test(l)), 'a lost key');
  t.ok(diff.some((l) => /^\+ case: boot-smoke: pass \| boot:boot:pass, step:kernel release is the one set up:skip/.test(l)), 'a changed status');
  t.ok(diff.some((l) => /^\+ TAP line form: .*# SKIP REASON/.test(l)), 'a new TAP form');
});
