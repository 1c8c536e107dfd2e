import type { Clock } from '../common/clock.js';
import type { CaseEvent, CaseEventBody } from '../model/events.js';
import { foldEvent, type CaseState } from '../model/fold.js';
import type { Finding } from '../model/findings.js';
import type { CaseResult, PointResult } from '../model/results.js';
import type { Multiplexer, PlannedCase } from './reporter.js';

/**
 * One case's event stream: `emit` stamps an event with the clock, folds it
 * into the case's result and hands it to the reporters — strictly in order,
 * even when emits are not awaited (a boot milestone is emitted from a console
 * watcher). `done` resolves once everything emitted so far was reported.
 */
export class CaseStream {
  private state: CaseState | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly planned: PlannedCase,
    private readonly reporter: Multiplexer,
    private readonly clock: Clock,
  ) {}

  /** Emit an event; resolves (once it is reported) with the test point it ended, if it ended one. */
  emit = (body: CaseEventBody): Promise<PointResult | undefined> => {
    const e = { ...body, at: this.clock.now() } as CaseEvent;
    // The fold is synchronous: the result so far is current the moment emit returns.
    this.state = foldEvent(this.state, e);
    const state = this.state;
    this.queue = this.queue.then(() => this.report(e, state));
    return this.queue.then(() => state.added);
  };

  /** Kernel findings emitted since the last point ended: they belong to the next one. */
  get pendingFindings(): Finding[] {
    return this.state?.pending.findings ?? [];
  }

  private async report(e: CaseEvent, s: CaseState): Promise<void> {
    await this.reporter.onEvent(this.planned, e, s.result);
    if (e.type === 'case-started') await this.reporter.onCaseBegin(this.planned);
    if (s.added) await this.reporter.onPoint(this.planned, s.added);
    if (e.type === 'case-ended') await this.reporter.onCaseEnd(this.planned, s.result);
  }

  /** Whether case-started was emitted. */
  get started(): boolean {
    return this.state !== undefined;
  }

  get ended(): boolean {
    return this.state?.ended ?? false;
  }

  /** The case's result so far (the fold of what was emitted). */
  get result(): CaseResult {
    if (!this.state) throw new Error(`case ${this.planned.id} has not started`);
    return this.state.result;
  }

  done(): Promise<void> {
    return this.queue;
  }
}
