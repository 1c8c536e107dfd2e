/** merge: shard folders → one run folder; overlapping or mismatched shards are refused (exit 2). */
import t from 'tap';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mergeProblems, mergeRuns, tapOf, type ShardInput } from '../../harness/results/merge.js';
import type { ShardRecord } from '../../harness/results/shard-record.js';
import { countPoints } from '../../harness/results/store.js';
import type { RunResult } from '../../harness/model/results.js';
import { cli, parseTap, tempDir } from '../helpers/cli.js';
import { labRun } from '../fixtures/lab-run.js';

const planned = labRun().cases.map((c) => c.id);
/** Shard i of n holding the given cases of the lab run. */
function shard(index: number, total: number, ids: string[], over: Partial<RunResult> = {}, plan = planned): ShardInput {
  const all = labRun();
  const cases = all.cases.filter((c) => ids.includes(c.id));
  const run = { ...all, runId: `run-${index}`, cases, counts: countPoints(cases), status: 'pass' as const, ...over };
  const rec: ShardRecord = { index, total, source: `--shard ${index}/${total}`, balancedBy: 'count', harness: run.harness.version, planned: plan, cases: ids };
  return { dir: `/shards/${index}`, run, shard: rec };
}
const [A, B, C] = planned as [string, string, string];

t.test('pure checks name what differs', async (t) => {
  t.same(mergeProblems([shard(1, 2, [A, C]), shard(2, 2, [B])]), [], 'two halves of one plan merge');
  t.match(mergeProblems([shard(1, 2, [A, B]), shard(2, 2, [B, C])]), [{ kind: 'overlap', message: /case fsdax-filesystems\[fs=xfs\] is in both \/shards\/1 and \/shards\/2/ }]);
  t.match(mergeProblems([shard(1, 2, [A, C]), shard(2, 2, [B], { harness: { version: '0.2.0', node: 'v20' } })]), [{ kind: 'version', message: /harness versions differ: 0\.1\.0 \(\/shards\/1\) vs 0\.2\.0 \(\/shards\/2\)/ }]);
  t.match(mergeProblems([shard(1, 2, [A, C]), shard(2, 2, [B], {}, [A, B, C, 'extra'])]), [{ kind: 'plan', message: /different scenario sets: only in the second: extra/ }]);
  t.match(mergeProblems([shard(1, 3, [A]), shard(2, 3, [B])]), [{ kind: 'missing', message: /shard\(s\) 3\/3 missing: the merged run would lack perf-tmpfs/ }]);
  t.match(mergeProblems([shard(1, 2, [A, C]), shard(1, 2, [B])]), [{ kind: 'overlap', message: /both shard 1\/2/ }, { kind: 'missing' }]);
  t.same(mergeProblems([shard(1, 2, [A, C]), shard(2, 3, [B])]).map((p) => p.kind), ['plan'], 'a shard of another count');
  t.match(mergeProblems([shard(1, 2, [A]), shard(2, 2, [B])]), [{ kind: 'plan', message: /no shard ran perf-tmpfs: the shards were not cut from one plan/ }], 'every shard there, a case nowhere');
});

t.test('merged run: the unsharded order, counts, worst status, one strict TAP document', async (t) => {
  const m = mergeRuns([shard(2, 2, [B], { status: 'error' }), shard(1, 2, [A, C])], '/out');
  t.same(m.cases.map((c) => c.id), planned, 'cases in plan order, whatever the shard order');
  t.same(m.counts, labRun().counts);
  t.equal(m.status, 'error');
  t.same(m.shards.map((x) => [x.shard, x.runId, x.cases]), [['2/2', 'run-2', 1], ['1/2', 'run-1', 2]], 'where each part ran is kept');
  const tap = await parseTap(tapOf(m));
  t.same(tap.tapErrors, []);
  t.same(tap.extra, []);
  t.same(tap.points.map((p) => p.name), planned);
  t.same(tapOf(m), tapOf({ ...labRun(), dir: '/out' }), 'the same TAP as the unsharded run');
});

async function writeShardDir(root: string, s: ShardInput): Promise<string> {
  const dir = join(root, `shard-${s.shard!.index}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'results.json'), JSON.stringify({ ...s.run, dir }));
  await writeFile(join(dir, 'shard.json'), JSON.stringify(s.shard));
  await writeFile(join(dir, 'events.jsonl'), s.run.cases.map((c, i) => `${JSON.stringify({ at: `2026-11-30T01:0${i}:0${s.shard!.index}.000Z`, type: 'case-end', id: c.id, status: c.status })}\n`).join(''));
  for (const c of s.run.cases) {
    await mkdir(join(dir, c.id), { recursive: true });
    await writeFile(join(dir, c.id, 'console.log'), `console of ${c.id}\n`);
  }
  return dir;
}

t.test('merge command: one folder with TAP, JSON, events, report, JUnit, KCIDB; overlap exits 2', async (t) => {
  const root = await tempDir('ramdax-merge-');
  const s1 = await writeShardDir(root, shard(1, 2, [A, C]));
  const s2 = await writeShardDir(root, shard(2, 2, [B], { status: 'error' }));
  const out = join(root, 'merged');
  const r = await cli(['merge', s1, s2, '--out', out, '--github'], { env: { GITHUB_STEP_SUMMARY: '' } });
  t.equal(r.exitCode, 3, `the merged run has an error case: exit 3 as its run would (${r.stderr})`);
  const tap = await parseTap(String(r.stdout));
  t.same(tap.tapErrors, [], 'stdout is one strict TAP document');
  t.equal(tap.count, 3);
  t.equal(await readFile(join(out, 'results.tap'), 'utf8'), `${String(r.stdout)}\n`, 'results.tap is what was printed (execa drops the last newline)');
  const json = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as RunResult;
  t.same(json.cases.map((c) => c.id), planned);
  const events = (await readFile(join(out, 'events.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  t.same(events.map((e) => e.shard), ['1/2', '2/2', '1/2'], 'events of both shards in time order, tagged');
  t.match(String(r.stderr), /^::error file=scenarios\/fsdax-filesystems\.yaml,title=/m, '--github: annotations on stderr (stdout is the TAP)');
  for (const f of ['report.html', 'report.txt', 'metrics.csv', 'metrics.json', 'junit.xml', 'kcidb.json', 'github-summary.md', `${B}/console.log`]) t.ok((await readFile(join(out, f), 'utf8')).length > 0, `${f} written`);

  const s3 = await writeShardDir(join(root, 'other'), shard(2, 2, [B, C]));
  const bad = await cli(['merge', s1, s3, '--out', join(root, 'm2')]);
  t.equal(bad.exitCode, 2, 'overlapping shards: bad input');
  t.match(String(bad.stderr), /case perf-tmpfs is in both .*shard-1 and .*shard-2: shards overlap/);
  t.notMatch(String(bad.stderr), /at .*\.ts:\d+/, 'no stack trace');
  const forced = await cli(['merge', s1, s3, '--out', join(root, 'm3'), '--force']);
  t.equal(forced.exitCode, 2, '--force never merges overlapping cases');
  const again = await cli(['merge', s1, s2, '--out', out]);
  t.equal(again.exitCode, 2, 'an existing, non-empty --out is refused');
});
