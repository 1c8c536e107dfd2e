// bisect: only a real failure is "bad"; what git bisect run printed; confirmation counts.
import t from 'tap';
import { confirmed, describeConfirmation, parseBisectOutput, VERDICT_EXIT, verdictOf } from '../../harness/kbuild/bisect-verdict.js';

t.test('verdicts: pass good, fail bad, anything else skip (exit 125)', async (t) => {
  t.equal(verdictOf('pass'), 'good');
  t.equal(verdictOf('fail'), 'bad');
  for (const s of ['error', 'miss', 'skip'] as const) t.equal(verdictOf(s), 'skip', s);
  t.same(VERDICT_EXIT, { good: 0, bad: 1, skip: 125 });
});

t.test('parseBisectOutput finds the first bad commit', async (t) => {
  const sha = 'a'.repeat(40);
  t.same(parseBisectOutput(`running ...\n${sha} is the first bad commit\ncommit ${sha}\n`), { culprit: sha });
});

t.test('parseBisectOutput reports skipped-only ranges and other endings', async (t) => {
  const r = parseBisectOutput("There are only 'skip'ped commits left to test.\nThe first bad commit could be any of:\nb1\nb2\nWe cannot bisect more!\n");
  t.match(r, { problem: /only skipped commits are left[\s\S]*b1\nb2/ });
  t.match(parseBisectOutput('bisect run failed:\nexit code 255\n'), { problem: /named no first bad commit/ });
});

t.test('confirmation needs every run of both', async (t) => {
  const c = { culprit: 'c'.repeat(40), parent: 'p'.repeat(40), culpritBad: 3, parentGood: 3, runs: 3 };
  t.ok(confirmed(c));
  t.match(describeConfirmation(c), /failed 3\/3.*passed 3\/3: confirmed/);
  t.notOk(confirmed({ ...c, parentGood: 2 }));
  t.match(describeConfirmation({ ...c, culpritBad: 2 }), /NOT confirmed/);
});
