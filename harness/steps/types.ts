import type { z } from 'zod';
import type { CarveOut } from '../scenario/memmap.js';
import type { Metric } from '../results/model.js';
import type { DriverAvailability } from '../setup/artifacts.js';
import type { Arch } from '../common/arch.js';

/** What one guest command did. */
export interface CommandResult {
  command: string;
  exitCode: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
}

/** The guest as steps see it: a shell over SSH. */
export interface Guest {
  exec(command: string, opts: { timeoutMs: number; stdin?: string }): Promise<CommandResult>;
}

/** What a `namespace` step created, for later steps that name it. */
export interface NamespaceInfo {
  dev: string;
  mode: string;
  size: number;
  uuid?: string;
  align?: number;
  blockdev?: string;
  chardev?: string;
}

/**
 * warm: sysrq b in the same QEMU; power-cycle: SIGKILL QEMU, start a new one on
 * the same RAM file and disk; kexec: load the same kernel (handed in through
 * fw_cfg) and jump into it, no firmware in between.
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
  timeoutMs: number;
  /** Matrix axis values, exported to guest commands of `run` steps. */
  env?: Record<string, string>;
  /** Reboot the guest (warm, or power-cycle QEMU on its RAM file) and reconnect (provided by the runner). */
  reboot?: (timeoutMs: number, method: RebootMethod) => Promise<Record<string, number | undefined>>;
  /** Samples per measurement for perf steps (`run --repeat`, else the scenario's `repeats:`). */
  repeats?: number;
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
  /** Namespace names this step uses, with the parameter that names each. */
  uses?(p: P): { name: string; param: string }[];
  /** Checks that need the whole scenario, e.g. a file system too big for its namespace. */
  crossCheck?(p: P, defined: Map<string, unknown>): { param: string; message: string } | undefined;
  run(ctx: StepContext, p: P): Promise<StepOutcome>;
}

/** A step as parsed from a scenario file. */
export interface Step {
  index: number;
  kind: string;
  name: string;
  timeoutMs: number;
  params: unknown;
}
