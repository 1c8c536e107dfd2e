/** Kernel trouble found in console or dmesg text (triage/findings.ts finds them). */
export type FindingType =
  | 'panic'
  | 'oops'
  | 'bug'
  | 'warning'
  | 'kasan'
  | 'ubsan'
  | 'kfence'
  | 'gpf'
  | 'hung-task'
  | 'rcu-stall'
  | 'soft-lockup'
  | 'hard-lockup'
  | 'init-killed'
  | 'call-trace';

export interface Finding {
  type: FindingType;
  /** Stable one-line title: no timestamps, CPU/PID numbers or addresses. */
  title: string;
  /** The line that matched, as printed. */
  line: string;
  /** A few lines before and after. */
  context: string[];
}
