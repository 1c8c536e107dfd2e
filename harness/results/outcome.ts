/** Did a reproduction end like the recorded failure? (pure) */
import { titleFor } from '../triage/findings.js';
import type { ArchiveManifest } from './archive-format.js';
import type { CaseResult } from '../model/results.js';

export interface Verdict {
  reproduced: boolean;
  message: string;
}

/** Crash titles of a case's findings, in order, without repeats. */
export function caseTitles(c: CaseResult): string[] {
  return [...new Set(c.points.flatMap((p) => (p.findings ?? []).map(titleFor)))];
}

/**
 * With a recorded kernel finding: reproduced when the first recorded title is
 * seen again. Without one: when the same point fails with the same status.
 */
export function compareOutcome(recorded: ArchiveManifest['outcome'], got: CaseResult): Verdict {
  const titles = caseTitles(got);
  const failed = got.points.find((p) => p.status === 'fail' || p.status === 'error');
  const what = got.status === 'pass' || got.status === 'skip' ? `the case ${got.status === 'pass' ? 'passed' : 'was skipped'}` : `${failed ? `'${failed.name}' ${failed.status}` : got.status}${titles.length ? ` with ${titles.map((t) => `'${t}'`).join(', ')}` : ' without a kernel finding'}`;
  const want = recorded.findings[0];
  if (want) {
    if (titles.includes(want)) return { reproduced: true, message: `reproduced: same finding '${want}'` };
    return { reproduced: false, message: `not reproduced: expected '${want}', ${what}` };
  }
  const p = recorded.point;
  if (p && failed && failed.name === p.name && failed.status === p.status) return { reproduced: true, message: `reproduced: same failure, '${p.name}' ${p.status}${titles.length ? '' : ' (no kernel finding)'}` };
  return { reproduced: false, message: `not reproduced: expected '${p?.name ?? '?'}' ${p?.status ?? recorded.status}, ${what}` };
}

/** `reproduced in 2 of 5 attempts (40 %)` (pure). */
export function rateLine(hits: number, attempts: number): string {
  return `reproduced in ${hits} of ${attempts} attempt(s) (${Math.round((100 * hits) / attempts)} %)`;
}
