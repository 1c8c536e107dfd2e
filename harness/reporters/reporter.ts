import type { CaseEvent } from '../model/events.js';
import type { CaseResult, PointResult, RunResult } from '../model/results.js';

export interface PlannedCase {
  id: string;
  scenario: string;
  steps: number;
}

/**
 * Receives the run as it happens; every hook is optional. All case hooks come
 * from one stream of case events (model/events.ts), folded by one reducer
 * (model/fold.ts):
 *
 *  - onEvent: every event, in order, with the case's result so far;
 *  - onCaseBegin / onPoint / onCaseEnd: the same stream seen as test points —
 *    a case started, a point ended (boot, step, hand-over, shutdown), the
 *    case ended with its result.
 *
 * A new reporter (JUnit, KCIDB, a GitHub summary…) implements the hooks it
 * needs and is passed to runCases in `reporters`; nothing else changes.
 */
export interface Reporter {
  onRunBegin?(run: RunResult, cases: PlannedCase[]): void | Promise<void>;
  onEvent?(c: PlannedCase, e: CaseEvent, sofar: CaseResult): void | Promise<void>;
  onCaseBegin?(c: PlannedCase): void | Promise<void>;
  onPoint?(c: PlannedCase, point: PointResult): void | Promise<void>;
  onCaseEnd?(c: PlannedCase, result: CaseResult): void | Promise<void>;
  onRunEnd?(run: RunResult): void | Promise<void>;
}

/**
 * Fans each hook out to every reporter, in order; a reporter that throws is
 * reported once on stderr and disabled — it never takes the run down with it.
 */
export class Multiplexer implements Required<Reporter> {
  private readonly broken = new Set<Reporter>();
  constructor(
    private readonly reporters: Reporter[],
    private readonly onError: (message: string) => void,
  ) {}

  private async each(hook: keyof Reporter, ...args: unknown[]): Promise<void> {
    for (const r of this.reporters) {
      if (this.broken.has(r)) continue;
      const fn = r[hook] as ((...a: unknown[]) => void | Promise<void>) | undefined;
      if (!fn) continue;
      try {
        await fn.apply(r, args);
      } catch (err) {
        this.broken.add(r);
        this.onError(`reporter ${r.constructor.name} failed in ${hook} and is disabled: ${(err as Error).message}`);
      }
    }
  }

  onRunBegin(run: RunResult, cases: PlannedCase[]) {
    return this.each('onRunBegin', run, cases);
  }
  onEvent(c: PlannedCase, e: CaseEvent, sofar: CaseResult) {
    return this.each('onEvent', c, e, sofar);
  }
  onCaseBegin(c: PlannedCase) {
    return this.each('onCaseBegin', c);
  }
  onPoint(c: PlannedCase, p: PointResult) {
    return this.each('onPoint', c, p);
  }
  onCaseEnd(c: PlannedCase, r: CaseResult) {
    return this.each('onCaseEnd', c, r);
  }
  onRunEnd(run: RunResult) {
    return this.each('onRunEnd', run);
  }
}
