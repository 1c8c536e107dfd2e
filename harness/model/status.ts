/**
 * pass: checked behaviour is right. fail: the kernel or the checked behaviour is
 * wrong. error: the harness or host broke. miss: planned, never ran because of an
 * earlier failure. skip: not applicable, with a reason.
 */
export type Status = 'pass' | 'fail' | 'error' | 'miss' | 'skip';

/**
 * The one roll-up rule, for a case's points and for a run's cases alike:
 *
 *   error if anything errored; else fail if anything failed; else miss if
 *   anything was missed; else skip when there is something and all of it was
 *   skipped; else pass.
 *
 * So a skip never hides a pass: a run of one passing and one skipped case
 * passed, and only a run (or case) where nothing ran at all is a skip. An
 * empty list is a pass (nothing was asked, nothing went wrong).
 */
export function rollUp(statuses: Iterable<Status>): Status {
  const all = [...statuses];
  for (const s of ['error', 'fail', 'miss'] as const) if (all.includes(s)) return s;
  return all.length && all.every((s) => s === 'skip') ? 'skip' : 'pass';
}

/**
 * A case's status from its points: the roll-up of its steps, where the boot,
 * hand-over and shutdown points count only when they did not pass (a boot that
 * worked makes no case "pass" whose every step was skipped).
 */
export function caseStatus(points: readonly { kind: string; status: Status }[]): Status {
  return rollUp(points.filter((p) => p.kind === 'step' || p.status !== 'pass').map((p) => p.status));
}
