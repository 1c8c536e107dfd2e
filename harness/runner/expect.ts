/**
 * Expected failures (pure): `expect: { finding: TITLE }` on a case (scenario
 * top level) or on one step. TITLE is a crash title in syzbot's form
 * ("WARNING in memmap_init_compound"), compared exactly.
 *
 * - A point whose kernel findings are all expected passes ("expected finding
 *   seen"), whatever its command did — the failure is the bug being
 *   reproduced. A finding that is not expected still fails it.
 * - Points missed after an expected finding ended the case (a panic) become
 *   skips: they could not run, and that is what was expected.
 * - A step-level expectation not seen during its step fails that step.
 * - A case-level expectation gets its own last point, `expected finding:
 *   TITLE`: pass when some point saw it, fail when none did (so "does it still
 *   happen on 7.3?" is exit 0 when it does, 1 when it is gone).
 */
import type { CaseEventBody } from '../model/events.js';
import type { PointResult } from '../model/results.js';
import type { CaseStream } from '../reporters/case-stream.js';
import type { Step } from '../steps/types.js';
import { titleFor } from '../triage/findings.js';
import type { Emit } from './steps.js';

type Point = Omit<PointResult, 'id'>;

export class Expectations {
  private stepIndex = 0;
  private seenAt: string | undefined;
  private caseSeen = false;
  private endedByExpected = false;

  constructor(
    private readonly caseFinding: string | undefined,
    private readonly steps: readonly Pick<Step, 'expect'>[],
  ) {}

  get active(): boolean {
    return this.caseFinding !== undefined || this.steps.some((s) => s.expect);
  }

  /** Judge a point before it is recorded; changes it in place (the runner reads the judged status). */
  judge(p: Point): void {
    const step = p.kind === 'step' ? this.steps[this.stepIndex++] : undefined;
    const wanted = new Set([this.caseFinding, step?.expect?.finding].filter((x): x is string => !!x));
    if (p.status === 'miss' && this.endedByExpected) {
      p.status = 'skip';
      p.reason = `not run: the case ended with the expected finding '${this.seenAt}'`;
      return;
    }
    const titles = (p.findings ?? []).map(titleFor);
    const expected = titles.filter((t) => wanted.has(t));
    const unexpected = titles.filter((t) => !wanted.has(t));
    if (expected.length) {
      this.seenAt ??= expected[0];
      if (this.caseFinding && expected.includes(this.caseFinding)) this.caseSeen = true;
      if (!unexpected.length) {
        const before = p.status;
        p.status = 'pass';
        p.reason = `expected finding seen: ${expected[0]}${before !== 'pass' ? ` (the point would have been ${before}: ${p.reason ?? ''})` : ''}`;
        p.details = { ...p.details, expectedFinding: expected[0] };
        this.endedByExpected = true;
      }
      return;
    }
    if (step?.expect && (p.status === 'pass' || p.status === 'fail')) {
      p.status = 'fail';
      p.reason = `expected finding '${step.expect.finding}' did not occur during this step${titles.length ? ` (got ${titles.map((t) => `'${t}'`).join(', ')})` : ''}${p.reason ? `; ${p.reason}` : ''}`;
    }
    // A later point that runs normally means the case went on: only misses right after the finding become skips.
    if (p.status !== 'miss' && p.kind === 'step') this.endedByExpected = false;
  }

  /** The case-level check, as the case's last point (none without a case-level expectation). */
  finalPoint(): Point | undefined {
    if (!this.caseFinding) return undefined;
    const seen = this.caseSeen;
    return {
      name: `expected finding: ${this.caseFinding}`,
      kind: 'step',
      status: seen ? 'pass' : 'fail',
      reason: seen ? undefined : `the kernel never reported '${this.caseFinding}' (fixed, or not triggered by these steps?)`,
      durationMs: 0,
      details: { expectedFinding: this.caseFinding, seen },
    };
  }
}

/** The point each point-ending event makes (boot-shared is always a pass: nothing to judge). */
const POINT_KIND = { 'boot-ended': 'boot', 'step-ended': 'step', leakcheck: 'leakcheck', handover: 'handover', shutdown: 'shutdown' } as const;

/** What judges a case's points as they end (Expectations, KnownBad) and may add a last point. */
export interface Judge {
  readonly active: boolean;
  /** Changes the point in place. */
  judge(p: Point): void;
  finalPoint(): Point | undefined;
}

/**
 * The case's emitter with judges (expected findings, known-bad kernels): each
 * point-ending event is judged (with the findings pending for its point)
 * before it enters the stream, so the result, every reporter and the runner's
 * next move see the judged status.
 */
export function judging(judges: Judge[], stream: CaseStream): Emit {
  const active = judges.filter((j) => j.active);
  if (!active.length) return stream.emit;
  return (e: CaseEventBody) => {
    if (!(e.type in POINT_KIND)) return stream.emit(e);
    const ended = e as Extract<CaseEventBody, { type: keyof typeof POINT_KIND }>;
    const p: Point = {
      name: ended.type === 'step-ended' ? ended.name : ended.type === 'handover' ? 'device left as found' : ended.type === 'leakcheck' ? 'kmemleak scan' : ended.type === 'boot-ended' ? 'boot' : 'shutdown',
      kind: POINT_KIND[ended.type],
      status: ended.status,
      reason: ended.reason,
      durationMs: ended.durationMs,
      details: ended.details,
      findings: stream.pendingFindings.length ? stream.pendingFindings : undefined,
    };
    for (const j of active) j.judge(p);
    return stream.emit({ ...ended, status: p.status, reason: p.reason, details: p.details });
  };
}
