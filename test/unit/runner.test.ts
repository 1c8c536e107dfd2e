import t from 'tap';
import { ExitCode } from '../../harness/common/exit-codes.js';
import { expand, filterCases, globToRegExp } from '../../harness/matrix/expand.js';
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
