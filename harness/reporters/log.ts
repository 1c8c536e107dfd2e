import type { Logger } from '../common/log.js';
import type { CaseResult } from '../model/results.js';
import type { PlannedCase, Reporter } from './reporter.js';

/** One stderr line per finished case: status, reason, time, and the boot it ran in. */
export class LogReporter implements Reporter {
  constructor(private readonly log: Logger) {}

  onCaseEnd(c: PlannedCase, r: CaseResult): void {
    const shared = r.bootId && r.bootId !== c.id ? ` [boot of ${r.bootId}]` : '';
    this.log.info(`${c.id}: ${r.status}${r.reason ? ` — ${r.reason}` : ''} (${(r.durationMs / 1000).toFixed(1)}s)${shared}`);
  }
}
