/**
 * JUnit and KCIDB outputs read by real consumers: Debian's python3-junitparser
 * (installed by the test helper when missing) and the KCIDB v5.3 JSON schema of
 * kernelci/kcidb-io with ajv. Counts are checked against the run's TAP as
 * tap-parser reads it.
 */
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { junitXml } from '../../harness/reporters/junit.js';
import { casePath, kcidbReport, pathSegment } from '../../harness/reporters/kcidb.js';
import { githubAnnotations, githubSummary } from '../../harness/reporters/github.js';
import { parseReporters } from '../../harness/reporters/outputs.js';
import { tapOf } from '../../harness/results/merge.js';
import { kcidbValidator, readJunit } from '../helpers/consumers.js';
import { parseTap, tempDir } from '../helpers/cli.js';
import { labRun } from '../fixtures/lab-run.js';
import { HarnessError } from '../../harness/common/errors.js';
import { Parser } from 'tap-parser';

/** The points of every case subtest (level 1) as tap-parser reads them. */
function casePoints(tap: string): Promise<{ ok: boolean; skip: boolean }[]> {
  const out: { ok: boolean; skip: boolean }[] = [];
  const p = new Parser({ strict: true });
  p.on('child', (child: Parser) => child.on('assert', (a: { ok: boolean; skip: unknown }) => out.push({ ok: a.ok, skip: !!a.skip })));
  return new Promise((resolve) => {
    p.on('complete', () => resolve(out));
    p.end(tap);
  });
}

t.test('JUnit: junitparser reads the same counts as the TAP', async (t) => {
  const run = labRun();
  const dir = await tempDir('ramdax-junit-');
  const file = join(dir, 'junit.xml');
  await writeFile(file, junitXml(run, new Map([['fsdax-filesystems[fs=xfs]', 'console line\u0007 with a bell\n[  1.0] end']])));
  const j = await readJunit(file);
  const tap = await parseTap(tapOf(run));
  t.same(tap.tapErrors, [], 'the TAP is strict-valid');
  const points = await casePoints(tapOf(run));
  t.equal(j.tests, points.length, 'as many testcases as TAP points');
  t.equal(j.failures + j.errors, points.filter((p) => !p.ok).length, 'JUnit failures + errors = TAP not ok points (fail, miss, error)');
  t.equal(j.skipped, points.filter((p) => p.skip).length, 'JUnit skipped = TAP SKIP points');
  t.equal(j.failures, 2, 'fail and miss are failures');
  t.equal(j.errors, 1);
  t.equal(j.skipped, 1);
  t.same(j.suites.map((s) => s.name), run.cases.map((c) => c.id), 'a testsuite per case');
  const xfs = j.suites[1]!.cases;
  t.same(xfs.map((c) => c.result), [[], ['failure'], ['failure'], ['error'], ['skipped']]);
  t.same(xfs[2]!.types, ['miss'], 'the missed point is a failure of type miss');
  t.match(xfs[2]!.messages[0], /^missed: step 2/);
  t.same(xfs[4]!.messages, ['no reflink on this kernel'], 'skipped with the reason');
  const text = junitXml(run, new Map([['fsdax-filesystems[fs=xfs]', 'tail']]));
  t.match(text, /<system-out>tail<\/system-out>/, 'console tail of the failing case');
  t.match(text, /<failure type="fail" message="mkfs.xfs exited 1">[^<]*--- console tail ---\ntail<\/failure>/, 'and in the first failure\'s text');
  t.notMatch(junitXml(run), /\u001b/, 'control characters never reach the XML');
});

t.test('KCIDB: the submission conforms to the v5.3 schema', async (t) => {
  const validate = kcidbValidator();
  const report = kcidbReport(labRun(), 'ramdax_lab') as { version: unknown; tests: { id: string; path: string; status: string; number?: unknown }[]; builds: unknown[]; checkouts: unknown[] };
  t.ok(validate(report), JSON.stringify(validate.errors));
  t.same(report.version, { major: 5, minor: 3 });
  t.equal(report.checkouts.length, 1, 'one kernel, one checkout');
  t.equal(report.builds.length, 1);
  const byPath = new Map(report.tests.map((x) => [x.path, x]));
  t.equal(byPath.get('ramdax.boot-smoke')?.status, 'PASS');
  t.equal(byPath.get('ramdax.fsdax-filesystems.fs_xfs')?.status, 'ERROR');
  t.equal(byPath.get('ramdax.fsdax-filesystems.fs_xfs.mkfs_xfs')?.status, 'FAIL');
  t.equal(byPath.get('ramdax.fsdax-filesystems.fs_xfs.mount')?.status, 'MISS');
  t.equal(byPath.get('ramdax.fsdax-filesystems.fs_xfs.reflink')?.status, 'SKIP');
  t.match(byPath.get('ramdax.perf-tmpfs.fio_seq_read.fio_seq-read-4k_bw'), { status: 'DONE', number: { value: 710, unit: 'MiB/s' } }, 'a metric is a DONE test with its median');
  t.ok(byPath.has('ramdax.perf-tmpfs.fio_seq_read-3'), 'two steps of one name keep apart paths');
  t.ok(report.tests.every((x) => x.id.startsWith('ramdax_lab:')), 'ids carry the origin');
  t.equal(new Set(report.tests.map((x) => x.id)).size, report.tests.length, 'test ids are unique');
  // The validator is live: what the schema forbids is refused.
  for (const [what, bad] of [
    ['a status KCIDB does not have', { ...report, tests: [{ ...report.tests[0]!, status: 'OK' }] }],
    ['an id without origin prefix', { ...report, tests: [{ ...report.tests[0]!, id: 'no-origin' }] }],
    ['no version', { tests: report.tests }],
    ['a path with a space', { ...report, tests: [{ ...report.tests[0]!, path: 'ramdax.a b' }] }],
    ['version 4', { ...report, version: { major: 4, minor: 5 } }],
  ] as const) t.notOk(validate(bad), `schema refuses ${what}`);
  t.throws(() => kcidbReport(labRun(), 'Bad-Origin'), /origin/);
});

t.test('KCIDB paths: ramdax.<scenario>[.<case>].<step>, segments of [a-zA-Z0-9_-]', async (t) => {
  t.equal(pathSegment('DAX on /mnt/pmem (statx)'), 'DAX_on_mnt_pmem_statx');
  t.equal(casePath({ id: 'fsdax-ext4', scenario: 'fsdax-ext4' }), 'ramdax.fsdax-ext4');
  t.equal(casePath({ id: 'boot-smoke[kernel=debian-6.19]', scenario: 'boot-smoke' }), 'ramdax.boot-smoke.kernel_debian-6_19');
});

t.test('GitHub: ::error per failing point, a step summary', async (t) => {
  const a = githubAnnotations(labRun());
  t.equal(a.length, 3, 'fail, miss, error');
  t.match(a[0], /^::error file=scenarios\/fsdax-filesystems\.yaml,title=fsdax-filesystems\[fs=xfs\]%3A mkfs xfs::fail: mkfs\.xfs exited 1$/);
  t.match(githubSummary(labRun()), /\| fsdax-filesystems\[fs=xfs\] \| error \|/);
});

t.test('--reporter: known names, one stdout format', async (t) => {
  t.same([...parseReporters([])], ['tap'], 'default: TAP');
  t.same([...parseReporters(['junit', 'kcidb'])], ['junit', 'kcidb']);
  for (const bad of [['xml'], ['tap', 'json']]) {
    let kind: string | undefined;
    try {
      parseReporters(bad);
    } catch (e) {
      kind = e instanceof HarnessError ? e.kind : 'other';
    }
    t.equal(kind, 'input', `${bad.join(' ')}: bad input`);
  }
});
