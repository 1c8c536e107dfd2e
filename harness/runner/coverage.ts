import { collectCoverage, markLost } from '../coverage/collect.js';
import type { Machine } from './machine.js';
import type { CaseEventBody } from '../model/events.js';

type Emit = (e: CaseEventBody) => Promise<unknown>;

/**
 * `run --coverage` hooks: the guest's gcov counters live in its RAM, so they
 * are saved (one segment, counters reset) before every power-off, reboot,
 * kexec and power cycle, and at the end of a case on a shared boot. Each
 * collection, saved or lost, is a `coverage` event of the case's stream;
 * the segments themselves go to <case>/coverage/ (coverage/collect.ts).
 * Never throws.
 */

export async function saveCoverage(m: Machine, caseDir: string, label: string, emit: Emit): Promise<void> {
  const r = await collectCoverage(m.session, caseDir, label, m.inputs.kernel);
  await emit({ type: 'coverage', label, ...(r.segment ? { segment: r.segment.file, bytes: r.segment.bytes } : { lost: r.lost }) });
}

/** The counters since the last collection cannot be had (a failed boot, a guest gone): the case's coverage is incomplete. */
export async function coverageLost(caseDir: string, label: string, reason: string, emit: Emit): Promise<void> {
  await markLost(caseDir, reason);
  await emit({ type: 'coverage', label, lost: reason });
}
