/** Pure pieces of `bisect`: what a case result means to `git bisect run`, and what git said. */
import type { Status } from '../model/results.js';

export type Verdict = 'good' | 'bad' | 'skip';

/** `git bisect run` exit codes: 0 good, 1 bad, 125 cannot test this commit. */
export const VERDICT_EXIT: Record<Verdict, number> = { good: 0, bad: 1, skip: 125 };

/**
 * Only a real test failure is "bad". A build failure, a harness error, a
 * missed point (timeout, boot that never answered) or a skip says nothing
 * about the bug: skip the commit rather than blame it.
 */
export function verdictOf(status: Status): Verdict {
  if (status === 'pass') return 'good';
  if (status === 'fail') return 'bad';
  return 'skip';
}

/** The first bad commit `git bisect run` named, or why it named none. */
export function parseBisectOutput(out: string): { culprit: string } | { problem: string } {
  const m = /^([0-9a-f]{40}) is the first bad commit$/m.exec(out);
  if (m) return { culprit: m[1]! };
  if (/only 'skip'ped commits left/.test(out)) {
    return { problem: `only skipped commits are left: the first bad commit is one of\n${out.split(/could be any of:\n/)[1]?.trim() ?? '(see the git output above)'}` };
  }
  const last = out.trim().split('\n').slice(-3).join('\n');
  return { problem: `git bisect run named no first bad commit:\n${last}` };
}

export interface Confirmation {
  culprit: string;
  parent: string;
  culpritBad: number;
  parentGood: number;
  runs: number;
}

export const confirmed = (c: Confirmation) => c.culpritBad === c.runs && c.parentGood === c.runs;

export function describeConfirmation(c: Confirmation): string {
  return `culprit ${c.culprit.slice(0, 12)} failed ${c.culpritBad}/${c.runs}, its parent ${c.parent.slice(0, 12)} passed ${c.parentGood}/${c.runs}: ${confirmed(c) ? 'confirmed' : 'NOT confirmed (flaky case or environment)'}`;
}
