import t from 'tap';
import { Multiplexer, type PlannedCase, type Reporter } from '../../harness/reporters/reporter.js';
import { emptyRun } from '../helpers/results.js';
import type { CaseResult, PointResult, RunResult } from '../../harness/model/results.js';

const run: RunResult = emptyRun();
const c1: PlannedCase = { id: 'c1', scenario: 'c1', steps: 1 };
const c2: PlannedCase = { id: 'c2', scenario: 'c2', steps: 1 };
const point: PointResult = { id: 1, name: 'boot', kind: 'boot', status: 'pass', durationMs: 1 };
const result = (c: PlannedCase): CaseResult => ({ id: c.id, scenario: c.scenario, file: 'x.yaml', status: 'pass', startedAt: run.startedAt, durationMs: 1, boot: {}, points: [point], files: {} });

/** A reporter that records every event it receives. */
class Recorder implements Reporter {
  readonly events: string[] = [];
  onRunBegin(_r: RunResult, cases: PlannedCase[]) {
    this.events.push(`runBegin:${cases.length}`);
  }
  onCaseBegin(c: PlannedCase) {
    this.events.push(`caseBegin:${c.id}`);
  }
  onPoint(c: PlannedCase, p: PointResult) {
    this.events.push(`point:${c.id}:${p.id}`);
  }
  onCaseEnd(c: PlannedCase) {
    this.events.push(`caseEnd:${c.id}`);
  }
  onRunEnd() {
    this.events.push('runEnd');
  }
}

/** Throws (or rejects) in one hook, and records every call it gets. */
class Broken extends Recorder {
  constructor(
    private readonly failIn: keyof Reporter,
    private readonly async: boolean,
  ) {
    super();
  }
  private maybeFail(hook: keyof Reporter): void | Promise<void> {
    if (hook !== this.failIn) return;
    if (this.async) return Promise.reject(new Error(`async boom in ${hook}`));
    throw new Error(`boom in ${hook}`);
  }
  override onRunBegin(r: RunResult, cases: PlannedCase[]) {
    super.onRunBegin(r, cases);
    return this.maybeFail('onRunBegin');
  }
  override onCaseBegin(c: PlannedCase) {
    super.onCaseBegin(c);
    return this.maybeFail('onCaseBegin');
  }
  override onPoint(c: PlannedCase, p: PointResult) {
    super.onPoint(c, p);
    return this.maybeFail('onPoint');
  }
  override onCaseEnd(c: PlannedCase) {
    super.onCaseEnd(c);
    return this.maybeFail('onCaseEnd');
  }
  override onRunEnd() {
    super.onRunEnd();
    return this.maybeFail('onRunEnd');
  }
}

const ALL = ['runBegin:2', 'caseBegin:c1', 'point:c1:1', 'caseBegin:c2', 'point:c2:1', 'caseEnd:c1', 'caseEnd:c2', 'runEnd'];

async function drive(m: Multiplexer): Promise<void> {
  await m.onRunBegin(run, [c1, c2]);
  await m.onCaseBegin(c1);
  await m.onPoint(c1, point);
  await m.onCaseBegin(c2);
  await m.onPoint(c2, point);
  await m.onCaseEnd(c1, result(c1));
  await m.onCaseEnd(c2, result(c2));
  await m.onRunEnd(run);
}

for (const async of [false, true]) {
  t.test(`a reporter that ${async ? 'rejects' : 'throws'} in onPoint is disabled; the others get every event`, async (t) => {
    const before = new Recorder();
    const broken = new Broken('onPoint', async);
    const after = new Recorder();
    const errors: string[] = [];
    const m = new Multiplexer([before, broken, after], (msg) => errors.push(msg));
    await t.resolves(drive(m), 'the multiplexer itself never throws');
    t.same(before.events, ALL, 'reporter before the broken one got everything');
    t.same(after.events, ALL, 'reporter after the broken one got everything');
    t.same(broken.events, ['runBegin:2', 'caseBegin:c1', 'point:c1:1'], 'broken reporter got nothing after its first error');
    t.equal(errors.length, 1, 'onError called exactly once');
    t.match(errors[0], /^reporter Broken failed in onPoint and is disabled: /);
    t.match(errors[0], async ? /async boom in onPoint/ : /boom in onPoint/);
  });
}

t.test('a reporter that throws in onRunBegin receives nothing else', async (t) => {
  const broken = new Broken('onRunBegin', false);
  const ok = new Recorder();
  const errors: string[] = [];
  await drive(new Multiplexer([broken, ok], (m) => errors.push(m)));
  t.same(broken.events, ['runBegin:2']);
  t.same(ok.events, ALL);
  t.equal(errors.length, 1);
  t.match(errors[0], /failed in onRunBegin/);
});

t.test('two broken reporters: one message each, healthy reporter unaffected', async (t) => {
  const b1 = new Broken('onCaseBegin', false);
  const b2 = new Broken('onRunEnd', true);
  const ok = new Recorder();
  const errors: string[] = [];
  await drive(new Multiplexer([b1, ok, b2], (m) => errors.push(m)));
  t.same(ok.events, ALL);
  t.same(b1.events, ['runBegin:2', 'caseBegin:c1']);
  t.same(b2.events, ALL);
  t.equal(errors.length, 2);
  t.match(errors[0], /failed in onCaseBegin/);
  t.match(errors[1], /failed in onRunEnd/);
});

t.test('hooks are optional; plain-object reporters work', async (t) => {
  const seen: string[] = [];
  const partial: Reporter = { onPoint: (c, p) => void seen.push(`${c.id}:${p.name}`) };
  const errors: string[] = [];
  await drive(new Multiplexer([{}, partial], (m) => errors.push(m)));
  t.same(seen, ['c1:boot', 'c2:boot']);
  t.same(errors, []);
});

t.test('events are delivered in order, awaiting async reporters', async (t) => {
  const log: string[] = [];
  const slow: Reporter = {
    onCaseBegin: async (c) => {
      await new Promise((r) => setTimeout(r, 5));
      log.push(`slow:${c.id}`);
    },
  };
  const fast: Reporter = { onCaseBegin: (c) => void log.push(`fast:${c.id}`) };
  const m = new Multiplexer([slow, fast], () => undefined);
  await m.onCaseBegin(c1);
  await m.onCaseBegin(c2);
  t.same(log, ['slow:c1', 'fast:c1', 'slow:c2', 'fast:c2']);
});
