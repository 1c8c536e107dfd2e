import t from 'tap';
import { ExitCode } from '../../harness/common/exit-codes.js';
import { expand, filterCases, globToRegExp } from '../../harness/matrix/expand.js';
import type { CaseEvent } from '../../harness/model/events.js';
import { foldCase } from '../../harness/model/fold.js';
import type { PointResult } from '../../harness/model/results.js';
import { caseStatus, rollUp, type Status } from '../../harness/model/status.js';
import { exitCodeFor } from '../../harness/runner/run.js';
import type { Scenario } from '../../harness/scenario/load.js';

let nextId = 1;
const pt = (kind: PointResult['kind'], status: Status): PointResult => ({ id: nextId++, name: `${kind}-${status}`, kind, status, durationMs: 0 });
const boot = (s: Status = 'pass') => pt('boot', s);
const step = (s: Status) => pt('step', s);
const shutdown = (s: Status = 'pass') => pt('shutdown', s);

t.test('caseStatus: all pass', async (t) => {
  t.equal(caseStatus([boot(), step('pass'), step('pass'), shutdown()]), 'pass');
  t.equal(caseStatus([boot(), shutdown()]), 'pass', 'no steps');
  t.equal(caseStatus([]), 'pass', 'no points at all');
});

t.test('caseStatus: error beats fail beats miss', async (t) => {
  t.equal(caseStatus([boot(), step('fail'), step('error'), step('miss'), shutdown()]), 'error');
  t.equal(caseStatus([boot(), step('miss'), step('fail'), shutdown()]), 'fail');
  t.equal(caseStatus([boot(), step('pass'), step('miss'), shutdown()]), 'miss');
  t.equal(caseStatus([boot('error'), step('miss'), step('miss')]), 'error', 'boot error, rest missed');
  t.equal(caseStatus([boot('fail'), step('miss')]), 'fail', 'boot failure (kernel), rest missed');
  t.equal(caseStatus([boot(), step('pass'), shutdown('fail')]), 'fail', 'a shutdown finding fails the case');
  t.equal(caseStatus([boot(), step('skip'), step('skip'), shutdown('error')]), 'error', 'a bad shutdown is not hidden by skips');
});

t.test('caseStatus: skip only when every step skipped', async (t) => {
  t.equal(caseStatus([boot(), step('skip'), step('skip'), shutdown()]), 'skip');
  t.equal(caseStatus([boot(), step('skip'), step('pass'), shutdown()]), 'pass', 'one step ran');
  t.equal(caseStatus([boot(), step('pass'), step('skip'), shutdown()]), 'pass');
  t.equal(caseStatus([step('skip')]), 'skip');
});

t.test('exitCodeFor', async (t) => {
  t.equal(exitCodeFor('pass'), ExitCode.ok);
  t.equal(exitCodeFor('skip'), ExitCode.ok);
  t.equal(exitCodeFor('fail'), ExitCode.testFailed);
  t.equal(exitCodeFor('miss'), ExitCode.testFailed);
  t.equal(exitCodeFor('error'), ExitCode.infra);
  t.equal(exitCodeFor('interrupted'), ExitCode.interrupted);
  t.same([ExitCode.ok, ExitCode.testFailed, ExitCode.infra, ExitCode.interrupted], [0, 1, 3, 130], 'documented values');
});

t.test('rollUp: the one rule for runs (and, through caseStatus, for cases)', async (t) => {
  t.equal(rollUp([]), 'pass', 'nothing asked, nothing wrong');
  t.equal(rollUp(['pass', 'pass']), 'pass');
  t.equal(rollUp(['pass', 'skip']), 'pass', 'a skip never hides a pass');
  t.equal(rollUp(['skip', 'pass']), 'pass', 'order does not matter');
  t.equal(rollUp(['skip', 'skip']), 'skip', 'skip only when nothing ran');
  t.equal(rollUp(['skip', 'miss', 'pass']), 'miss');
  t.equal(rollUp(['fail', 'miss']), 'fail');
  t.equal(rollUp(['miss', 'error', 'fail']), 'error');
  t.equal(rollUp(['skip', 'error']), 'error');
});

const scenario = (name: string) => ({ name, id: name, file: `${name}.yaml` }) as unknown as Scenario;
const cases = expand(['boot-smoke', 'devdax-roundtrip', 'fsdax-ext4', 'fsdax-xfs', 'ramdax-bind', 'a.b', 'axb', 'x(1)+[y]$'].map(scenario));

t.test('expand: one case per scenario (matrices already expanded), id from the scenario', async (t) => {
  t.equal(cases.length, 8);
  t.equal(cases[0]?.id, 'boot-smoke');
  t.equal(cases[0]?.scenario.name, 'boot-smoke');
});

t.test('filterCases', async (t) => {
  const ids = (globs: string[]) => filterCases(cases, globs).map((c) => c.id);
  t.same(ids([]), cases.map((c) => c.id), 'no globs: everything');
  t.same(ids(['fsdax-*']), ['fsdax-ext4', 'fsdax-xfs']);
  t.same(ids(['*dax*']), ['devdax-roundtrip', 'fsdax-ext4', 'fsdax-xfs', 'ramdax-bind']);
  t.same(ids(['ramdax-bind', 'boot-*']), ['boot-smoke', 'ramdax-bind'], 'union of globs, in case order');
  t.same(ids(['boot']), [], 'whole id must match');
  t.same(ids(['a.b']), ['a.b'], '. is literal');
  t.same(ids(['a?b']), ['a.b', 'axb'], '? is one character');
  t.same(ids(['x(1)+[y]$']), ['x(1)+[y]$'], 'regex specials are literal');
  t.same(ids(['nothing*']), []);
});

t.test('globToRegExp', async (t) => {
  const m = (glob: string, s: string) => globToRegExp(glob).test(s);
  t.ok(m('fsdax-*', 'fsdax-ext4'));
  t.ok(m('fsdax-*', 'fsdax-'), '* matches the empty run');
  t.notOk(m('fsdax-*', 'xfsdax-ext4'), 'anchored at the start');
  t.notOk(m('*-ext4', 'fsdax-ext4x'), 'anchored at the end');
  t.ok(m('boot-smok?', 'boot-smoke'));
  t.notOk(m('boot-smok?', 'boot-smok'), '? needs one character');
  t.notOk(m('boot-smok?', 'boot-smoke2'));
  t.ok(m('*', ''));
  t.ok(m('*', 'anything at all'));
  t.notOk(m('a.c', 'abc'));
  t.ok(m('a\\b', 'a\\b'), 'backslash is literal');
  t.ok(m('^{x}|y$', '^{x}|y$'));
  t.notOk(m('^{x}|y$', 'y'));
});

t.test('foldCase: a case result is the fold of its events', async (t) => {
  const at = (n: number) => Date.parse('2026-12-01T10:00:00Z') + n;
  const cmd = (command: string, exitCode = 0) => ({ command, exitCode, stdout: '', stderr: '', durationMs: 1, timedOut: false });
  const events: CaseEvent[] = [
    { type: 'case-started', at: at(0), id: 'c', scenario: 's', file: 's.yaml', files: { console: 'c/console.log' } },
    { type: 'boot-started', at: at(1), attempt: 1, argv: ['qemu'], sshPort: 2222 },
    { type: 'milestone', at: at(2), name: 'kernelStartedMs', ms: 300 },
    { type: 'boot-started', at: at(3), attempt: 2, argv: ['qemu', '-x'], sshPort: 2223 },
    { type: 'milestone', at: at(4), name: 'kernelStartedMs', ms: 250 },
    { type: 'boot-ended', at: at(5), status: 'pass', durationMs: 5, bootId: 'c', failedAttempts: [{ attempt: 1, status: 'fail', reason: 'x', findings: [] }] },
    { type: 'step-started', at: at(6), index: 0, name: 'one' },
    { type: 'command', at: at(7), result: cmd('true') },
    { type: 'step-ended', at: at(8), index: 0, name: 'one', status: 'pass', durationMs: 2 },
    { type: 'step-started', at: at(9), index: 1, name: 'two' },
    { type: 'command', at: at(10), result: cmd('false', 1) },
    { type: 'finding', at: at(11), finding: { type: 'warning', title: 'warning: W', line: 'W', context: ['W'] } },
    { type: 'step-ended', at: at(12), index: 1, name: 'two', status: 'fail', reason: 'kernel reported warning: W', durationMs: 3 },
    { type: 'step-ended', at: at(13), index: 2, name: 'three', status: 'miss', reason: 'step 2 (two) failed', durationMs: 0 },
    { type: 'shutdown', at: at(14), status: 'pass', durationMs: 1, details: { stop: 'exited' }, stop: 'exited' },
    { type: 'file', at: at(15), name: 'repro', path: 'c/repro' },
    { type: 'case-ended', at: at(20) },
  ];
  const r = foldCase(events);
  t.same(r.boot, { kernelStartedMs: 250 }, 'milestones of the attempt that booted');
  t.same([r.qemuArgv, r.sshPort, r.bootId, r.stop], [['qemu', '-x'], 2223, 'c', 'exited']);
  t.same(r.points.map((p) => [p.id, p.kind, p.status]), [[1, 'boot', 'pass'], [2, 'step', 'pass'], [3, 'step', 'fail'], [4, 'step', 'miss'], [5, 'shutdown', 'pass']]);
  t.same(r.points[2]!.commands?.map((c) => c.command), ['false'], 'commands belong to the step they ran in');
  t.equal(r.points[2]!.findings?.[0]?.title, 'warning: W', 'and so do findings');
  t.equal(r.points[3]!.commands, undefined, 'a step that never started has no commands');
  t.equal(r.status, 'fail');
  t.equal(r.reason, 'two: kernel reported warning: W', 'the reason is the first point with the case status');
  t.equal(r.durationMs, 20);
  t.same(r.files, { console: 'c/console.log', repro: 'c/repro' });
  const frames = [{ frame: 'ramdax_probe+0x1/0x2 [ramdax]', locations: [{ fn: 'ramdax_probe', file: 'drivers/nvdimm/ramdax.c', line: 42 }] }];
  const symbolized = foldCase([...events.slice(0, -1), { type: 'symbolized', at: at(16), point: 3, finding: 0, frames }, { type: 'symbolized', at: at(17), point: 2, finding: 0, frames }, events.at(-1)!]);
  t.same(symbolized.points[2]!.findings?.[0]?.symbolized, frames, 'symbolized: file:line on the finding it names');
  t.same(symbolized.points.map((p) => p.findings?.length ?? 0), [0, 0, 1, 0, 0], 'a symbolized event for a point without that finding changes nothing');
  t.equal(r.points[2]!.findings?.[0]?.symbolized, undefined, 'the earlier fold is left as it was');
  t.throws(() => foldCase(events.slice(1)), /before case-started/);
  t.throws(() => foldCase([...events, { type: 'step-ended', at: at(21), index: 9, name: 'x', status: 'pass', durationMs: 0 }]), /after case-ended/);
});
