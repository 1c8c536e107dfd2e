import t from 'tap';
import { Parser, type FinalResults } from 'tap-parser';
import type { PlannedCase } from '../../harness/reporters/reporter.js';
import { pointLines, TapReporter } from '../../harness/reporters/tap.js';
import { emptyRun } from '../helpers/results.js';
import type { CaseResult, PointResult, RunResult, Status } from '../../harness/model/results.js';

const run: RunResult = emptyRun();

const planned = (id: string, steps: number): PlannedCase => ({ id, scenario: id, steps });

function caseResult(c: PlannedCase, status: Status, points: PointResult[], reason?: string): CaseResult {
  return { id: c.id, scenario: c.scenario, file: `${c.id}.yaml`, status, reason, startedAt: run.startedAt, durationMs: 1234, boot: {}, points, files: {} };
}

interface Parsed {
  final: FinalResults;
  extras: string[];
  bailouts: string[];
  /** Every child stream: its nesting level, name and final results. */
  children: { level: number; name: string; results: FinalResults }[];
}

/** Parse TAP text strictly, collecting non-TAP lines, bail-outs and the results of every subtest. */
async function parseTap(text: string): Promise<Parsed> {
  const extras: string[] = [];
  const bailouts: string[] = [];
  const children: Parsed['children'] = [];
  const watch = (p: Parser) => {
    p.on('extra', (line: string) => extras.push(line));
    p.on('bailout', (reason: string) => bailouts.push(reason));
    p.on('child', (c: Parser) => {
      watch(c);
      c.on('complete', (results: FinalResults) => children.push({ level: c.level, name: c.name, results }));
    });
  };
  const parser = new Parser({ strict: true });
  watch(parser);
  const done = new Promise<FinalResults>((resolve) => parser.on('complete', resolve));
  parser.end(text);
  return { final: await done, extras, bailouts, children };
}

/**
 * Check that each case's output is one contiguous block: `# Subtest: id`,
 * indented lines only, then its `ok/not ok N - id` line. Returns the ids in
 * output order and every violation found.
 */
function caseBlocks(text: string, pointPrefix: Record<string, string>): { order: string[]; problems: string[] } {
  const order: string[] = [];
  const problems: string[] = [];
  let open: string | undefined;
  text.split('\n').forEach((line, i) => {
    const at = `line ${i + 1} ${JSON.stringify(line)}`;
    if (line === '' || line.startsWith('TAP version') || /^1\.\.\d+$/.test(line)) {
      if (open !== undefined) problems.push(`${at}: top-level line inside case ${open}`);
      return;
    }
    const begin = /^# Subtest: (.*)$/.exec(line);
    if (begin) {
      if (open !== undefined) problems.push(`${at}: case ${begin[1]} begins while ${open} is still open`);
      open = begin[1]!;
      order.push(open);
      return;
    }
    const end = /^(?:not )?ok \d+ - (\S+)/.exec(line);
    if (end) {
      if (end[1] !== open) problems.push(`${at}: closes ${end[1]} but ${open} is open`);
      open = undefined;
      return;
    }
    if (!line.startsWith('    ')) problems.push(`${at}: not indented inside a case`);
    const point = /^ {4}(?:not )?ok \d+ - (.*?)(?: #|$)/.exec(line);
    if (point && (open === undefined || !point[1]!.startsWith(pointPrefix[open]!))) problems.push(`${at}: point does not belong to ${open}`);
  });
  if (open !== undefined) problems.push(`case ${open} left open`);
  return { order, problems };
}

const cmd = (command: string, exitCode: number, stdout: string, stderr: string) => ({ command, exitCode, stdout, stderr, durationMs: 12, timedOut: false });

const A = planned('case-a', 4);
const B = planned('case-b', 2);

const aPoints: PointResult[] = [
  { id: 1, name: 'A boot', kind: 'boot', status: 'pass', durationMs: 4200 },
  {
    id: 2,
    name: 'A guest selftest',
    kind: 'step',
    status: 'pass',
    durationMs: 800,
    subtap: 'TAP version 14\n1..3\nok 1 - open /dev/pmem0\nok 2 - mmap # SKIP no dax\nnot ok 3 - later # TODO not written\n',
  },
  {
    id: 3,
    name: 'A mkfs.xfs pm # with hash',
    kind: 'step',
    status: 'fail',
    reason: 'exit 1: mkfs.xfs -f /dev/pmem0\n— too small',
    durationMs: 300,
    commands: [cmd('mkfs.xfs -f -q -m reflink=0 /dev/pmem0', 1, 'meta-data=/dev/pmem0\n', 'agsize (4096 blocks) too small\n---\n...\nneed at least 300MB\n')],
    findings: [{ type: 'warning', title: 'warning: WARNING: CPU PID at fs/xfs/xfs_super.c:1 xfs_fs_fill_super', line: 'WARNING: ...', context: ['a', 'b'] }],
    dmesg: ['[ 1.0] XFS (pmem0): Mounting V5 Filesystem', '[ 1.1] WARNING: ...'],
    details: { device: '/dev/pmem0' },
  },
  { id: 4, name: 'A mount', kind: 'step', status: 'error', reason: 'SSH channel closed # guest gone', durationMs: 10 },
  { id: 5, name: 'A umount', kind: 'step', status: 'miss', reason: 'step 3 (mkfs) failed', durationMs: 0 },
];
const bPoints: PointResult[] = [
  { id: 1, name: 'B boot', kind: 'boot', status: 'pass', durationMs: 3900 },
  { id: 2, name: 'B ramdax', kind: 'step', status: 'pass', durationMs: 200 },
  { id: 3, name: 'B devdax', kind: 'step', status: 'skip', reason: 'kernel has no ramdax driver', durationMs: 0 },
];

/** begin A, begin B, point B, point A, end B, end A — as two parallel jobs would. */
function interleaved(): { text: string; snapshots: Record<string, string> } {
  let text = '';
  const snapshots: Record<string, string> = {};
  const r = new TapReporter((s) => (text += s));
  r.onRunBegin(run, [A, B]);
  r.onCaseBegin(A);
  r.onCaseBegin(B);
  r.onPoint(B, bPoints[0]!);
  r.onPoint(A, aPoints[0]!);
  r.onPoint(A, aPoints[1]!);
  r.onPoint(B, bPoints[1]!);
  r.onPoint(A, aPoints[2]!);
  snapshots.afterPointsBeforeEnds = text;
  r.onPoint(B, bPoints[2]!);
  r.onCaseEnd(B, caseResult(B, 'pass', bPoints));
  snapshots.afterEndB = text;
  r.onPoint(A, aPoints[3]!);
  r.onPoint(A, aPoints[4]!);
  r.onCaseEnd(A, caseResult(A, 'fail', aPoints, 'A mkfs.xfs pm: exit 1'));
  return { text, snapshots };
}

t.test('interleaved cases produce valid TAP 14 with the expected counts', async (t) => {
  const { text } = interleaved();
  t.match(text, /^TAP version 14\n1\.\.2\n/, 'version line and plan first');
  const p = await parseTap(text);
  t.same(p.extras, [], 'no non-TAP lines');
  t.same(p.bailouts, [], 'no bail-out');
  t.same(
    p.final.failures.filter((f) => 'tapError' in f && f.tapError),
    [],
    'no TAP syntax errors',
  );
  t.equal(p.final.count, 2, 'two cases');
  t.equal(p.final.pass, 1, 'case-b passed');
  t.equal(p.final.fail, 1, 'case-a failed');
  t.equal(p.final.skip, 0);
  t.equal(p.final.ok, false);
  t.same(p.final.plan, { start: 1, end: 2, skipAll: false, skipReason: '', comment: '' });

  const child = (name: string) => p.children.find((c) => c.name === name)?.results;
  const a = child('case-a');
  const b = child('case-b');
  const guest = child('A guest selftest');
  t.ok(a && b && guest, 'subtests for both cases and the guest TAP');
  t.match(a, { count: 5, pass: 2, fail: 3, skip: 0, ok: false }, 'case-a: pass, pass, fail, error, miss — tap-parser counts the missed point as a failure, not a skip');
  t.match(b, { count: 3, pass: 3, fail: 0, skip: 1, ok: true }, 'case-b: pass, pass, skip');
  t.match(guest, { count: 3, pass: 2, fail: 1, todo: 1, skip: 1, ok: true }, 'guest TAP passed through as a subtest');
  t.equal(p.children.find((c) => c.name === 'A guest selftest')?.level, 2, 'guest TAP is nested under its step');
});

t.test('interleaved cases: the output of each case is contiguous', async (t) => {
  const { text } = interleaved();
  const { order, problems } = caseBlocks(text, { 'case-a': 'A ', 'case-b': 'B ' });
  t.same(problems, [], 'every case is one block');
  t.same(order, ['case-a', 'case-b']);
  t.match(text, /\nnot ok 1 - case-a # time=1\.2s\n/);
  t.match(text, /\nok 2 - case-b # time=1\.2s\n/);
});

t.test('the first case streams live, the second is held back until it can be printed whole', async (t) => {
  const { snapshots } = interleaved();
  t.match(snapshots.afterPointsBeforeEnds, /ok 1 - A boot/, "case-a's points are written as they happen");
  t.match(snapshots.afterPointsBeforeEnds, /not ok 3 - A mkfs/);
  t.notMatch(snapshots.afterPointsBeforeEnds, /B boot|case-b/, 'case-b is held back');
  t.notMatch(snapshots.afterEndB, /case-b/, 'case-b ended, but case-a is still live');
});

t.test('failure diagnostics parse as YAML under the failing point', async (t) => {
  const { text } = interleaved();
  const parser = new Parser({ strict: true });
  const diags: Record<string, unknown> = {};
  parser.on('child', (c: Parser) => c.on('assert', (res: { name: string; diag: unknown }) => (diags[res.name] = res.diag)));
  const done = new Promise((resolve) => parser.on('complete', resolve));
  parser.end(text);
  await done;
  t.match(diags['A mkfs.xfs pm # with hash'], {
    status: 'fail',
    message: 'exit 1: mkfs.xfs -f /dev/pmem0\n— too small',
    command: 'mkfs.xfs -f -q -m reflink=0 /dev/pmem0',
    exit: 1,
    stderr: 'agsize (4096 blocks) too small\n---\n...\nneed at least 300MB',
    stdout: 'meta-data=/dev/pmem0',
    findings: [{ type: 'warning', title: 'warning: WARNING: CPU PID at fs/xfs/xfs_super.c:1 xfs_fs_fill_super', log: 'a\nb' }],
    dmesg: '[ 1.0] XFS (pmem0): Mounting V5 Filesystem\n[ 1.1] WARNING: ...',
    details: { device: '/dev/pmem0' },
  });
  t.match(Object.entries(diags).find(([k]) => k.startsWith('A mount'))?.[1], {
    status: 'error',
    message: 'SSH channel closed # guest gone',
  });
});

t.test('three parallel cases finishing out of order: every block contiguous, TAP valid', async (t) => {
  const C = planned('case-c', 1);
  const pts = (p: string): PointResult[] => [
    { id: 1, name: `${p} boot`, kind: 'boot', status: 'pass', durationMs: 1 },
    { id: 2, name: `${p} step`, kind: 'step', status: 'pass', durationMs: 1 },
  ];
  let text = '';
  const r = new TapReporter((s) => (text += s));
  r.onRunBegin(run, [A, B, C]);
  r.onCaseBegin(A);
  r.onCaseBegin(B);
  r.onCaseBegin(C);
  for (const [c, p] of [[C, 'C'], [B, 'B'], [A, 'A']] as const) r.onPoint(c, pts(p)[0]!);
  r.onPoint(C, pts('C')[1]!);
  r.onCaseEnd(C, caseResult(C, 'pass', pts('C')));
  r.onPoint(A, pts('A')[1]!);
  r.onCaseEnd(A, caseResult(A, 'pass', pts('A')));
  r.onPoint(B, pts('B')[1]!);
  r.onCaseEnd(B, caseResult(B, 'pass', pts('B')));
  const { order, problems } = caseBlocks(text, { 'case-a': 'A ', 'case-b': 'B ', 'case-c': 'C ' });
  t.same(problems, [], 'every case is one block');
  t.same([...order].sort(), ['case-a', 'case-b', 'case-c'], 'each case printed exactly once');
  t.equal(order[0], 'case-a', 'the live case comes first');
  const p = await parseTap(text);
  t.same(p.extras, []);
  t.match(p.final, { ok: true, count: 3, pass: 3, fail: 0 });
  t.same(p.final.failures, []);
});

t.test('a skipped case is ok with a SKIP directive', async (t) => {
  const S = planned('case-s', 1);
  const points: PointResult[] = [
    { id: 1, name: 'boot', kind: 'boot', status: 'pass', durationMs: 1 },
    { id: 2, name: 'ramdax', kind: 'step', status: 'skip', reason: 'no ramdax # at all', durationMs: 1 },
  ];
  let text = '';
  const r = new TapReporter((s) => (text += s));
  r.onRunBegin(run, [S]);
  r.onCaseBegin(S);
  for (const p of points) r.onPoint(S, p);
  r.onCaseEnd(S, caseResult(S, 'skip', points, 'ramdax: no ramdax\nat all'));
  t.match(text, /\nok 1 - case-s # SKIP ramdax: no ramdax at all\n$/);
  const p = await parseTap(text);
  t.match(p.final, { ok: true, count: 1, pass: 1, skip: 1 });
});

t.test("a guest TAP 'Bail out!' inside a step does not abort the whole run's TAP", async (t) => {
  const X = planned('case-x', 1);
  const Y = planned('case-y', 1);
  const xPoints: PointResult[] = [{ id: 1, name: 'guest tests', kind: 'step', status: 'fail', reason: 'guest TAP failed', durationMs: 1, subtap: 'TAP version 14\n1..2\nok 1 - probe\nBail out! no /dev/pmem0\n' }];
  const yPoints: PointResult[] = [{ id: 1, name: 'boot', kind: 'boot', status: 'pass', durationMs: 1 }];
  let text = '';
  const r = new TapReporter((s) => (text += s));
  r.onRunBegin(run, [X, Y]);
  r.onCaseBegin(X);
  r.onPoint(X, xPoints[0]!);
  r.onCaseEnd(X, caseResult(X, 'fail', xPoints));
  r.onCaseBegin(Y);
  r.onPoint(Y, yPoints[0]!);
  r.onCaseEnd(Y, caseResult(Y, 'pass', yPoints));
  const p = await parseTap(text);
  t.same(p.bailouts, [], 'the run is not bailed out by one guest test');
  t.equal(p.final.count, 2, 'both cases are still counted');
  t.equal(p.final.pass, 1, 'case-y still passes');
  t.equal(p.final.fail, 1, 'case-x fails');
});

t.test('pointLines', async (t) => {
  t.same(pointLines({ id: 1, name: 'boot', kind: 'boot', status: 'pass', durationMs: 1500 }), ['ok 1 - boot # time=1.5s']);
  t.same(pointLines({ id: 2, name: 'a # b\\c', kind: 'step', status: 'pass', durationMs: 5 }), ['ok 2 - a \\# b\\\\c # time=5ms'], 'hash and backslash escaped');
  t.same(pointLines({ id: 3, name: 'multi\nline  name', kind: 'step', status: 'pass', durationMs: 5 }), ['ok 3 - multi line name # time=5ms'], 'white space collapsed');
  t.same(pointLines({ id: 4, name: 's', kind: 'step', status: 'skip', durationMs: 0 }), ['ok 4 - s # SKIP skipped']);
  t.same(pointLines({ id: 5, name: 's', kind: 'step', status: 'skip', reason: 'no\n#ramdax', durationMs: 0 }), ['ok 5 - s # SKIP no \\#ramdax']);
  t.same(pointLines({ id: 6, name: 'm', kind: 'step', status: 'miss', durationMs: 0 }), ['not ok 6 - m # miss: not run']);
  const fail = pointLines({ id: 7, name: 'f', kind: 'step', status: 'fail', reason: 'bad', durationMs: 5 });
  t.equal(fail[0], 'not ok 7 - f # time=5ms');
  t.same(fail.slice(1), ['  ---', '  status: fail', '  message: bad', '  ...']);
  const err = pointLines({ id: 8, name: 'e', kind: 'step', status: 'error', durationMs: 5 });
  t.equal(err[0], 'not ok 8 - e # error: harness error');
  t.equal(err[1], '  ---');
  t.equal(err.at(-1), '  ...');
  const sub = pointLines({ id: 9, name: 'g', kind: 'step', status: 'pass', durationMs: 5, subtap: 'TAP version 13\n1..1\nok 1 - x\n\n' });
  t.same(sub, ['# Subtest: g', '    1..1', '    ok 1 - x', 'ok 9 - g # time=5ms'], 'guest TAP indented, its version line dropped');
});
