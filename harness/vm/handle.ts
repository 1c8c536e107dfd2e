import type { ConsoleStream } from './console.js';
import type { VmSpec } from './qemu-args.js';

export interface QemuExit {
  exitCode: number | undefined;
  signal: string | undefined;
  stderr: string;
}

export type StopMethod = 'exited' | 'qmp-quit' | 'sigterm' | 'sigkill';

/**
 * A running VM as the runner sees it: its console as a stream, its exit as a
 * promise, and a stop that escalates. QemuVm is the real one; unit tests use
 * a fake that replays recorded consoles.
 */
export interface VmHandle {
  readonly spec: VmSpec;
  readonly argv: string[];
  /** When it was started, on the clock the runner uses. */
  readonly startedAt: number;
  readonly console: ConsoleStream;
  readonly exit: Promise<QemuExit>;
  readonly running: boolean;
  killNow(): void;
  /** Wait for exit up to `ms`; true when it exited. */
  waitExit(ms: number): Promise<boolean>;
  /** Give it `graceMs` to exit by itself, then stop it harder; how it ended. */
  stop(graceMs: number): Promise<StopMethod>;
  /** From now on a guest reset ends the VM instead of resetting it in place (QMP `set-action reboot=shutdown`). */
  endAtReset(): Promise<void>;
}

/** Starts a VM (the effect the runner is given): QEMU appends the console to `consoleLog` when given. */
export type VmLauncher = (spec: VmSpec, consoleLog: string | undefined) => VmHandle;
