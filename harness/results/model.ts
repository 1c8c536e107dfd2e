import type { Finding } from '../triage/findings.js';
import type { CommandResult } from '../steps/types.js';
import type { KernelCapabilities } from '../setup/capabilities.js';

/**
 * pass: checked behaviour is right. fail: the kernel or the checked behaviour is
 * wrong. error: the harness or host broke. miss: planned, never ran because of an
 * earlier failure. skip: not applicable, with a reason.
 */
export type Status = 'pass' | 'fail' | 'error' | 'miss' | 'skip';

/** Worst first: the exit status follows the worst status of a run. */
export const STATUS_RANK: Record<Status, number> = { pass: 0, skip: 0, miss: 1, fail: 2, error: 3 };

export function worst(statuses: Iterable<Status>): Status {
  let w: Status = 'pass';
  for (const s of statuses) if (STATUS_RANK[s] > STATUS_RANK[w] || (w === 'pass' && s === 'skip')) w = s;
  return w;
}

export interface PointResult {
  /** 1-based, in TAP order within the case. */
  id: number;
  name: string;
  /** handover: a case sharing its boot left the device as it found it; leakcheck: kmemleak's end-of-case scan (debug kernels). */
  kind: 'boot' | 'step' | 'handover' | 'leakcheck' | 'shutdown';
  status: Status;
  reason?: string;
  durationMs: number;
  commands?: CommandResult[];
  findings?: Finding[];
  /** Kernel log lines added while this point ran. */
  dmesg?: string[];
  details?: Record<string, unknown>;
  subtap?: string;
  /** Performance figures measured by this point (fio, bench, durations). */
  metrics?: Metric[];
}

/**
 * One measured figure with all its samples. `key` identifies what was measured
 * (step parameters, workload) so runs can be paired; the kernel, image and accel
 * come from the case.
 */
export interface Metric {
  /** e.g. "fio:seq-read-4k:bw", "boot:ssh-ready". */
  name: string;
  unit: string;
  /** Which direction is an improvement. */
  better: 'higher' | 'lower';
  samples: number[];
  median: number;
  /** Relative spread of the samples: (max - min) / median. */
  spread: number;
  /** The parameters that produced it; equal keys are comparable across runs. */
  key: Record<string, unknown>;
}

export interface BootTimes {
  /** Host milliseconds from QEMU start. */
  kernelStartedMs?: number;
  initStartedMs?: number;
  sshdStartedMs?: number;
  sshReadyMs?: number;
  firstCommandMs?: number;
}

export interface CaseResult {
  id: string;
  scenario: string;
  file: string;
  status: Status;
  reason?: string;
  startedAt: string;
  durationMs: number;
  kernel?: {
    name: string;
    release: string;
    source: string;
    sha256: Record<string, string>;
    ramdax: string;
    /** debian / local / source. */
    kind?: string;
    /** What the kernel offers and how that was found out (config, modules list, boot probe). */
    capabilities?: KernelCapabilities;
    /** Built from source: the source revision and every patch (file, subject, sha256, git patch-id). */
    build?: { revision: string; patches: { file: string; index?: number; subject?: string; sha256: string; patchId?: string }[] };
    /** Made from the command line (`--kernel PATH`, `--patch`). */
    adhoc?: { ref: string; kind: string };
  };
  /** rootfs: the cached image file (a per-machine overlay's backing file). */
  image?: { name: string; sha256: string; rootfs?: string };
  accel?: { accel: string; reason: string };
  /** The guest machine's shape; icount when guest time was counted in instructions (perf figures then follow the guest, not the host). */
  machine?: { arch?: string; type: string; cpus: number; memoryBytes: number; icount?: number };
  /**
   * arm64: the device tree the guest booted with (`-dtb`): QEMU's own tree
   * plus the carve-outs as pmem-region nodes. `edits` is what the harness added.
   */
  dtb?: { sha256: string; path: string; dts: string; edits: string };
  cmdline?: string;
  qemuArgv?: string[];
  boot: BootTimes;
  /** The case whose boot this case ran in (its own id unless it shared an earlier case's boot). */
  bootId?: string;
  sshPort?: number;
  stop?: string;
  points: PointResult[];
  /** Paths relative to the run folder. */
  files: Record<string, string>;
}

export interface RunResult {
  runId: string;
  dir: string;
  startedAt: string;
  endedAt?: string;
  status: Status | 'running' | 'interrupted';
  harness: { version: string; node: string };
  qemu?: string;
  /** The host a run measured on: load before (loadavg) and after the run, as perf figures depend on it. */
  host: { cpu: string; cores: number; loadavg: number[]; loadavgAfter?: number[]; memTotalBytes?: number; kernel?: string };
  cases: CaseResult[];
  counts: Record<Status, number>;
}
