/**
 * Real QEMU: two default scenarios run unsharded (-j 2) and as two shards at
 * once (one VM each; the second shard finds its index with `--shard auto` from
 * GitLab's CI_NODE_INDEX/CI_NODE_TOTAL), then `merge` puts the shards back
 * together: the same case ids and statuses as the unsharded run, no overlap,
 * one strict TAP document, JUnit read by junitparser with the TAP's counts,
 * KCIDB valid against the v5.3 schema. 4 boots.
 */
import t from 'tap';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { cli, parseTap, tempDir } from '../helpers/cli.js';
import { kcidbValidator, readJunit } from '../helpers/consumers.js';
import type { RunResult } from '../../harness/model/results.js';

const files = ['scenarios/boot-smoke.yaml', 'scenarios/ramdax-bind.yaml'];
const root = await tempDir('ramdax-shards-');
const runDir = async (results: string) => join(results, (await readdir(results))[0] ?? 'missing');
const timed = async (args: string[], env?: Record<string, string>) => {
  const t0 = Date.now();
  const r = await cli(args, { env });
  return { r, seconds: (Date.now() - t0) / 1000 };
};

const t0 = Date.now();
const [s1, s2] = await Promise.all([
  timed(['run', ...files, '--shard', '1/2', '--results', join(root, 's1')]),
  timed(['run', ...files, '--shard', 'auto', '--results', join(root, 's2')], { CI_NODE_INDEX: '2', CI_NODE_TOTAL: '2' }),
]);
const shardWall = (Date.now() - t0) / 1000;
const whole = await timed(['run', ...files, '-j', '2', '--results', join(root, 'whole'), '--reporter', 'tap', '--reporter', 'junit', '--reporter', 'kcidb']);
const [d1, d2, dw] = [await runDir(join(root, 's1')), await runDir(join(root, 's2')), await runDir(join(root, 'whole'))];
const out = join(root, 'merged');
const merged = await cli(['merge', d1, d2, '--out', out]);
const read = async (d: string) => JSON.parse(await readFile(join(d, 'results.json'), 'utf8')) as RunResult;
const statuses = (r: RunResult) => Object.fromEntries(r.cases.map((c) => [c.id, [c.status, ...c.points.map((p) => `${p.name}:${p.status}`)]]));

t.comment(`wall: shard 1 ${s1.seconds.toFixed(1)} s, shard 2 ${s2.seconds.toFixed(1)} s (both at once: ${shardWall.toFixed(1)} s); unsharded -j 2 ${whole.seconds.toFixed(1)} s`);

t.test('each shard ran whole boot groups, none twice', async (t) => {
  t.equal(s1.r.exitCode, 0, String(s1.r.stderr).slice(-1500));
  t.equal(s2.r.exitCode, 0, String(s2.r.stderr).slice(-1500));
  const [r1, r2] = [await read(d1), await read(d2)];
  t.equal(r1.cases.length, 1);
  t.equal(r2.cases.length, 1);
  t.not(r1.cases[0]!.id, r2.cases[0]!.id, 'no overlap');
  const rec2 = JSON.parse(await readFile(join(d2, 'shard.json'), 'utf8'));
  t.match(rec2, { index: 2, total: 2, source: /CI_NODE_INDEX\/CI_NODE_TOTAL \(GitLab parallel\)/, planned: ['boot-smoke', 'ramdax-bind'] }, '--shard auto read GitLab\'s variables');
});

t.test('merge == the unsharded run', async (t) => {
  t.equal(whole.r.exitCode, 0, String(whole.r.stderr).slice(-1500));
  t.equal(merged.exitCode, 0, String(merged.stderr));
  const [m, w] = [await read(out), await read(dw)];
  t.same(m.cases.map((c) => c.id), w.cases.map((c) => c.id), 'same case ids in the same order');
  t.same(statuses(m), statuses(w), 'same case and point statuses');
  t.same(m.counts, w.counts);
  const tap = await parseTap(String(merged.stdout));
  t.same(tap.tapErrors, [], 'one strict-valid TAP document');
  t.same(tap.extra, []);
  t.ok(tap.ok);
  t.equal(tap.count, 2);
});

t.test('JUnit and KCIDB of the merged run, read by real consumers', async (t) => {
  const j = await readJunit(join(out, 'junit.xml'));
  const m = await read(out);
  t.equal(j.tests, m.counts.pass + m.counts.fail + m.counts.error + m.counts.miss + m.counts.skip, 'junitparser counts every point');
  t.equal(j.failures + j.errors, 0);
  const jw = await readJunit(join(dw, 'junit.xml'));
  t.equal(jw.tests, j.tests, 'the unsharded run\'s junit.xml has the same count');
  const validate = kcidbValidator();
  const k = JSON.parse(await readFile(join(out, 'kcidb.json'), 'utf8'));
  t.ok(validate(k), JSON.stringify(validate.errors));
  t.ok(validate(JSON.parse(await readFile(join(dw, 'kcidb.json'), 'utf8'))), 'the unsharded run\'s kcidb.json too');
  t.match(k.tests.find((x: { path: string }) => x.path === 'ramdax.ramdax-bind'), { status: 'PASS', environment: { comment: /QEMU emulator version .*accel tcg/ } });
});
