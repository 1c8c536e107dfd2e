/**
 * The events of one case, in the order they happen. The SSH path and the
 * console-only path emit the same kinds; a case's result (CaseResult) is
 * nothing but their fold (fold.ts), and every reporter — TAP, the result
 * store, the log, JUnit or whatever comes next — consumes this one stream.
 *
 *   case-started
 *   boot-prepared            kernel, image, accel, machine, command line
 *   boot-started             one per QEMU start (a retried boot starts again)
 *   milestone …              kernel started, init, sshd, SSH ready, first command
 *   boot-ended  → point      result, failed attempts
 *   (or boot-shared → point  this case runs in an earlier case's boot)
 *   step-started
 *   command …, finding …     guest commands and kernel findings of the step
 *   step-ended  → point      (a step not run has only step-ended: miss/skip)
 *   leakcheck → point        kmemleak's end-of-case scan (kernels with kmemleak)
 *   coverage                 gcov counters saved (a segment) or lost, before a reboot, hand-over or power-off
 *   kernel-log               the full kernel log, kept beside the result
 *   handover → point | shutdown → point
 *   symbolized               file:line for the frames of a finding (debug symbols at hand)
 *   file                     a file written for the case (a reproducer bundle)
 *   case-ended
 *
 * `command` and `finding` events belong to the next point that ends.
 */
import type { Finding, SymbolizedFrame } from './findings.js';
import type { CommandResult } from './guest.js';
import type { BootTimes, CaseResult, Metric } from './results.js';
import type { Status } from './status.js';

/** Whose fault a failed boot was (runner/boot-policy.ts decides). */
export type BootFailureKind = 'emulator-flake' | 'kernel' | 'infra';

/** A boot attempt that failed before a later one worked (or before the case gave up). */
export interface FailedBoot {
  attempt: number;
  status: string;
  kind?: BootFailureKind;
  reason: string;
  findings: string[];
}

/** Boot stages, as the milliseconds since QEMU started recorded in BootTimes. */
export type Milestone = keyof BootTimes;

/** What ends as a test point: its verdict and what it measured. */
interface PointBody {
  status: Status;
  reason?: string;
  durationMs: number;
  details?: Record<string, unknown>;
  metrics?: Metric[];
}

export type CaseEventBody =
  | { type: 'case-started'; id: string; scenario: string; file: string; files: Record<string, string> }
  | {
      type: 'boot-prepared';
      kernel: NonNullable<CaseResult['kernel']>;
      image?: CaseResult['image'];
      accel: NonNullable<CaseResult['accel']>;
      machine: NonNullable<CaseResult['machine']>;
      cmdline: string;
      /** arm64: the device tree the guest boots with. */
      dtb?: CaseResult['dtb'];
    }
  | { type: 'boot-started'; attempt: number; argv: string[]; sshPort?: number }
  | { type: 'milestone'; name: Milestone; ms: number }
  | (PointBody & { type: 'boot-ended'; bootId?: string; failedAttempts: FailedBoot[]; stop?: string })
  | { type: 'boot-shared'; bootId: string; argv?: string[]; sshPort?: number; console: string }
  | { type: 'step-started'; index: number; name: string }
  | { type: 'command'; result: CommandResult }
  | { type: 'finding'; finding: Finding }
  | (PointBody & { type: 'step-ended'; index: number; name: string; subtap?: string; dmesg?: string[] })
  | (PointBody & { type: 'leakcheck' })
  | { type: 'coverage'; label: string; segment?: string; bytes?: number; lost?: string }
  | { type: 'kernel-log'; lines: string[] }
  | (PointBody & { type: 'handover' })
  | (PointBody & { type: 'shutdown'; stop?: string })
  | { type: 'symbolized'; point: number; finding: number; frames: SymbolizedFrame[] }
  | { type: 'file'; name: string; path: string }
  | { type: 'case-ended' };

/** `at`: host milliseconds since the epoch, from the run's clock. */
export type CaseEvent = CaseEventBody & { at: number };

export type CaseEventType = CaseEvent['type'];
