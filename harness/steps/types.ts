import type { z } from 'zod';
import type { CommandResult, Guest } from '../model/guest.js';
import type { DriverAvailability } from '../model/kernel.js';
import type { Metric } from '../model/results.js';
import type { CarveOut } from '../model/scenario.js';
import type { FillRecord } from './integrity/pattern.js';
import type { LabelSnapshot } from './integrity/labels.js';
import type { Arch } from '../common/arch.js';

export type { CommandResult, Guest } from '../model/guest.js';
export type { Step } from '../model/scenario.js';

/** What a `namespace` step created, for later steps that name it. */
export interface NamespaceInfo {
  dev: string;
  mode: string;
  size: number;
  uuid?: string;
  align?: number;
  blockdev?: string;
  chardev?: string;
  /** What `fill` steps wrote to it, for later verification. */
  fill?: FillRecord;
}

/** Data-integrity state of a case, shared by its steps. */
export interface IntegrityState {
  /**
   * The DIMMs' label areas as the last data step left them. Data steps compare
   * against it; steps that change namespaces (the `namespace` step) drop it.
   */
  labels?: { snapshot: LabelSnapshot; by: string };
}

/**
 * warm: sysrq b, the guest's own reset (under TCG QEMU ends there and a new one
 * boots on the same RAM file: runner/restart.ts); power-cycle: SIGKILL QEMU, start a new one on
 * the same RAM file and disk; kexec: load the same kernel (handed in as a
 * read-only disk found by its serial) and jump into it, no firmware in between.
 */
export type RebootMethod = 'warm' | 'power-cycle' | 'kexec';

export interface StepContext {
  guest: Guest;
  namespaces: Map<string, NamespaceInfo>;
  carveOuts: CarveOut[];
  /** Guest architecture (default x86_64). */
  arch?: Arch;
  /** arm64: the pmem-region nodes of the guest's device tree (one per memmap entry, one reg entry per range). */
  pmemNodes?: { name: string; reg: CarveOut[] }[];
  kernel: { release: string; ramdax: DriverAvailability };
  /** Values a step leaves for later steps of the same case (e.g. the namespaces an unbind took away). */
  memo?: Map<string, unknown>;
  timeoutMs: number;
  /** Matrix axis values, exported to guest commands of `run` steps. */
  env?: Record<string, string>;
  /** Reboot the guest (warm, or power-cycle QEMU on its RAM file) and reconnect (provided by the runner). */
  reboot?: (timeoutMs: number, method: RebootMethod) => Promise<Record<string, number | undefined>>;
  /** Samples per measurement for perf steps (`run --repeat`, else the scenario's `repeats:`). */
  repeats?: number;
  /** Label baseline of the data-integrity steps (one object per case, shared by its steps). */
  integrity?: IntegrityState;
  /** This step's name (its TAP point), for messages that name an earlier step. */
  stepName?: string;
}

export type StepStatus = 'pass' | 'fail' | 'skip';

export interface StepOutcome {
  status: StepStatus;
  /** One line: why it failed or was skipped. */
  reason?: string;
  commands: CommandResult[];
  /** Values worth keeping in the result (sizes, uuids, ...). */
  details?: Record<string, unknown>;
  /** TAP printed by a `run` step, passed through as a subtest. */
  subtap?: string;
  /** Performance figures measured by the step (fio, bench). */
  metrics?: Metric[];
  /** A skip that makes the rest of the case pointless (no ramdax): the remaining steps are skipped too. */
  skipRest?: boolean;
}

/** One step kind: its parameter schema, how it is named, what it references, how it runs. */
export interface StepKind<P> {
  kind: string;
  summary: string;
  schema: z.ZodType<P, unknown>;
  /** Turn a scalar (e.g. `run: uname -a`) into the parameter object. */
  shorthand?: (value: string) => unknown;
  title(p: P): string;
  /** Namespace names this step defines (`as:`). */
  defines?(p: P): string[];
  /** Namespace names this step removes (`'*'` for all); later steps may define them again. */
  undefines?(p: P): string[];
  /**
   * Namespace names this step uses, with the parameter (a key, or a path below
   * the step) that names each; `filled`: an earlier `fill` must have written it.
   */
  uses?(p: P): { name: string; param: string | (string | number)[]; filled?: boolean }[];
  /** Namespace names this step writes a fill pattern to (for `uses(...).filled`). */
  fills?(p: P): string[];
  /** Checks that need the whole scenario, e.g. a file system too big for its namespace; `filled`: the params of each namespace's last fill. */
  crossCheck?(p: P, defined: Map<string, unknown>, filled: Map<string, unknown>): { param: string; message: string } | undefined;
  /** How this step reboots the guest (the runner then lets QEMU reset; power-cycle needs a RAM file). */
  reboots?(p: P): RebootMethod[];
  run(ctx: StepContext, p: P): Promise<StepOutcome>;
}
