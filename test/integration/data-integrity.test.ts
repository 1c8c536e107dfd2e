/**
 * Real QEMU: the data-integrity checks can fail. Namespaces are filled, then
 * damaged from the guest behind the harness's back (a block copied over
 * another, a block zeroed, one byte of a label area flipped); the `verify`
 * step must fail naming the namespace, block and offset, or the DIMM.
 * (That they pass on an undamaged guest is shown by the fill steps here and
 * by the data-integrity scenarios of the default run.)
 */
import t from 'tap';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { cli, parseTap, tempDir } from '../helpers/cli.js';

const results = await tempDir('ramdax-integrity-');
const run = await cli(['run', 'test/fixtures/scenarios/integrity-damage.yaml', '--results', results]);
const runDir = join(results, (await readdir(results))[0] ?? 'missing');
const json = JSON.parse(await readFile(join(runDir, 'results.json'), 'utf8'));
type Point = { name: string; status: string; reason?: string; details?: Record<string, unknown>; metrics?: { name: string; median: number }[] };
type Case = { id: string; status: string; points: Point[] };
const byId = (id: string) => json.cases.find((c: Case) => c.id === id) as Case;
const point = (c: Case, prefix: string) => c.points.find((p) => p.name.startsWith(prefix))!;

t.test('exit 1, strict TAP, both damaged cases fail', async (t) => {
  t.equal(run.exitCode, 1, String(run.stderr).split('\n').slice(-20).join('\n'));
  const tap = await parseTap(String(run.stdout));
  t.same(tap.tapErrors, []);
  t.same(tap.points.map((p) => [p.name, p.ok]), [['integrity-damage[damage=data]', false], ['integrity-damage[damage=label]', false]]);
});

t.test('the fills themselves pass: written, read back, labels unchanged', async (t) => {
  for (const c of [byId('integrity-damage[damage=data]'), byId('integrity-damage[damage=label]')]) {
    const fills = c.points.filter((p) => p.name.startsWith('fill '));
    t.same(fills.map((p) => p.status), ['pass', 'pass'], c.id);
    for (const f of fills) t.ok(f.metrics?.some((m) => m.name === 'fill:write' && m.median > 0), `${c.id} ${f.name}: write rate measured`);
  }
});

t.test('a moved block and a zeroed block: verify names namespace, block, offset and what it found', async (t) => {
  const c = byId('integrity-damage[damage=data]');
  const v = point(c, 'verify ');
  t.equal(v.status, 'fail');
  t.match(v.reason, /namespace 'pm' \(namespace0\.0, \/dev\/pmem0\): 1 of 4096 blocks wrong on verify: block 1234 at offset 0x4d2000 \(phys 0x1004d2000\) holds the data of block 77 \(offset 0x4d000\)/);
  t.match(v.reason, /namespace 'dd' \(namespace0\.1, \/dev\/dax0\.1\): 1 of \d+ blocks wrong on verify: block 5 at offset 0x5000 \(phys 0x[0-9a-f]+\) reads back as zeros/);
  t.notMatch(v.reason, /label area/, 'the labels were not touched and are not blamed');
  const verified = v.details?.verified as { namespace: string; bad: number; ranges?: number[][] }[];
  t.same(verified.map((x) => [x.namespace, x.bad, x.ranges]), [['pm', 1, [[1234, 1235]]], ['dd', 1, [[5, 6]]]], 'results.json keeps the bad ranges');
  t.equal(c.points.at(-2)!.status, 'miss', 'the rest of the case is missed');
});

t.test('a flipped label byte: verify names the DIMM and the label slot; the data is intact', async (t) => {
  const c = byId('integrity-damage[damage=label]');
  const damage = point(c, 'damage the namespaces');
  t.equal(damage.status, 'pass', damage.reason ?? 'write-labels worked');
  const v = point(c, 'verify ');
  t.equal(v.status, 'fail');
  t.match(v.reason, /^label area changed since 'fill dd seed 9, verify write', with no namespace step in between: nmem0: 1 byte changed in 1 place: 0x1ffb8 \(label slot \d+ \(empty\): 00 → ff\)$/);
  const verified = v.details?.verified as { namespace: string; bad: number }[];
  t.same(verified.map((x) => [x.namespace, x.bad]), [['pm', 0], ['dd', 0]], 'both namespaces came back and verified clean');
});
