/**
 * What a failed boot means and whether to boot again (pure; unit-tested).
 *
 * - An early-boot `Oops: int3` (before init) under multi-threaded TCG is an
 *   emulator flake: the captured one (test/fixtures/consoles/
 *   tcg-mttcg-int3-early-boot.log) trapped on the int3 of a text patch the
 *   kernel had already finished (static key flip at `sched_clock: Marking
 *   stable`; the code bytes show the completed instruction) — a vCPU thread
 *   still running a stale translation, which only multi-threaded TCG can
 *   do; measured under load: 1 of 15 boots with `thread=multi -cpu max`,
 *   0 of 15 with `thread=single` (bench/int3-boots.ts; docs/robustness.md).
 *   It is the infrastructure's fault, not the kernel's: `error`, that reason.
 * - Every other boot failure with kernel output is the kernel's (`fail`).
 * - A boot is tried again (up to `retries.boot`), but a failure that repeats —
 *   the same signature on two attempts — is never retried away: it ends the
 *   retries as `fail`, whatever it looked like (also an int3 that repeats: the
 *   flake is rare, a repeat is the kernel). A retry that then boots is reported
 *   as a flaky boot, never as a silent pass.
 */
import type { BootFailureKind } from '../model/events.js';
import type { Finding } from '../model/findings.js';

export type { BootFailureKind } from '../model/events.js';

export interface BootFailureFacts {
  status: 'fail' | 'error';
  reason: string;
  findings: Pick<Finding, 'type' | 'title'>[];
  /** Boot stage reached: the int3 flake strikes before init. */
  initStarted: boolean;
  accel: 'tcg' | 'kvm';
  /** TCG's thread mode (single under icount). */
  tcgThread: 'multi' | 'single';
}

export interface ClassifiedFailure {
  kind: BootFailureKind;
  status: 'fail' | 'error';
  /** Stable across boots: the first finding's title, else the reason without numbers. */
  signature: string;
  reason: string;
}

export const INT3 = /Oops: int3/;

/** The measured basis of the emulator-flake rule, quoted in the reason. */
export const INT3_EVIDENCE = 'early-boot Oops: int3 under multi-threaded TCG is an emulator race (a vCPU runs a stale translation of finished int3 text patching; seen with thread=multi on a loaded host, not with thread=single; docs/robustness.md)';

export function signatureOf(f: Pick<BootFailureFacts, 'reason' | 'findings'>): string {
  return f.findings[0]?.title ?? f.reason.replace(/\d+(\.\d+)?/g, 'N');
}

export function classifyBootFailure(f: BootFailureFacts): ClassifiedFailure {
  const signature = signatureOf(f);
  const first = f.findings[0];
  if (first && INT3.test(first.title) && !f.initStarted && f.accel === 'tcg' && f.tcgThread === 'multi') {
    return { kind: 'emulator-flake', status: 'error', signature, reason: `emulator flake, not the kernel: ${INT3_EVIDENCE} — ${f.reason}` };
  }
  if (f.status === 'error') return { kind: 'infra', status: 'error', signature, reason: f.reason };
  return { kind: 'kernel', status: 'fail', signature, reason: f.reason };
}

export type RetryDecision = { retry: true } | { retry: false; status: 'fail' | 'error'; reason: string };

/**
 * After attempt `earlier.length + 1` failed with `now`: boot again, or give
 * the boot point its final status and reason.
 */
export function decideRetry(earlier: Pick<ClassifiedFailure, 'signature' | 'kind'>[], now: ClassifiedFailure, retries: number): RetryDecision {
  const attempt = earlier.length + 1;
  const repeated = earlier.findIndex((e) => e.signature === now.signature && e.kind !== 'infra');
  if (repeated >= 0 && now.kind !== 'infra') {
    return { retry: false, status: 'fail', reason: `${now.kind === 'emulator-flake' ? now.reason.replace(/^emulator flake, not the kernel: .*? — /, '') : now.reason} (the same failure on attempts ${repeated + 1} and ${attempt}: a failure that repeats is the kernel's, not retried further)` };
  }
  if (earlier.length < retries) return { retry: true };
  return { retry: false, status: now.status, reason: now.reason };
}
