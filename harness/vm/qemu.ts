import { execa, type ResultPromise } from 'execa';
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConsoleStream } from './console.js';
import { FileTail } from './file-tail.js';
import type { QemuExit, StopMethod, VmHandle, VmLauncher } from './handle.js';
import { qmpCommand } from './qmp.js';
import { qemuArgv, type VmSpec } from './qemu-args.js';
import { processStart, track } from './live-registry.js';
import { withParentDeathSignal } from './pdeathsig.js';

export type { QemuExit, StopMethod } from './handle.js';

/** Every QEMU this process started and has not seen exit: killed on the way out, whatever happens. */
const live = new Set<QemuVm>();

export function liveVms(): ReadonlySet<QemuVm> {
  return live;
}

/** Last resort at process exit: nothing the harness started may outlive it. */
export function killAllVmsSync(): void {
  for (const vm of live) vm.killNow();
}

/** One QEMU process: its console as a stream, its exit as a promise, and a stop that escalates. */
export class QemuVm implements VmHandle {
  readonly console: ConsoleStream;
  readonly exit: Promise<QemuExit>;
  readonly argv: string[];
  readonly startedAt: number;
  private exited = false;
  private stderrText = '';
  private readonly child: ResultPromise;
  private readonly tail: FileTail | undefined;

  /** Start QEMU. With `consoleLog`, QEMU appends the console to that file and the harness tails it; else it is read from QEMU's stdout. */
  static start(spec: VmSpec, consoleLog: string | undefined): QemuVm {
    return new QemuVm(spec, consoleLog);
  }

  private constructor(readonly spec: VmSpec, consoleLog: string | undefined) {
    this.argv = qemuArgv({ ...spec, consoleLog });
    this.startedAt = Date.now();
    this.console = new ConsoleStream(this.startedAt);
    // Opened (and created) before QEMU starts, at its current end: the first byte QEMU writes is seen.
    this.tail = consoleLog ? new FileTail(consoleLog, (d) => this.console.push(d)) : undefined;
    // Through setpriv: QEMU gets SIGKILL when the harness dies, however it dies.
    const cmd = withParentDeathSignal(spec.binary, this.argv);
    this.child = execa(cmd.file, cmd.args, {
      stdin: 'ignore',
      stdout: this.tail ? 'ignore' : 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      cleanup: true,
    });
    live.add(this);
    // Recorded in the cache until it exits, for the next harness start should this one be killed.
    const pid = this.child.pid;
    const forget = pid ? track({ kind: 'qemu', pid, start: processStart(pid) ?? '?', name: spec.name }) : () => undefined;
    this.child.stdout?.on('data', (d: Buffer) => this.console.push(d));
    this.child.stderr?.on('data', (d: Buffer) => {
      this.stderrText = (this.stderrText + d.toString()).slice(-8192);
    });
    this.exit = this.child.then(async (r) => {
      this.exited = true;
      live.delete(this);
      forget();
      this.tail?.close();
      this.console.end();
      await rm(spec.qmpSocket, { force: true });
      return { exitCode: r.exitCode, signal: r.signal, stderr: this.stderrText };
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return !this.exited;
  }

  get stderr(): string {
    return this.stderrText;
  }

  killNow(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  /** Wait for exit up to `ms`; true when QEMU exited. */
  async waitExit(ms: number): Promise<boolean> {
    if (this.exited) return true;
    const t = sleep(ms, false, { ref: false });
    return Promise.race([this.exit.then(() => true), t]);
  }

  async endAtReset(): Promise<void> {
    await qmpCommand(this.spec.qmpSocket, 'set-action', 3000, { reboot: 'shutdown' });
  }

  /**
   * Stop QEMU: give it `graceMs` to exit by itself (the guest was told to
   * power off), then QMP quit, SIGTERM, SIGKILL — each with a short wait.
   */
  async stop(graceMs: number): Promise<StopMethod> {
    if (await this.waitExit(graceMs)) return 'exited';
    await qmpCommand(this.spec.qmpSocket, 'quit', 2000).catch(() => undefined);
    if (await this.waitExit(3000)) return 'qmp-quit';
    this.child.kill('SIGTERM');
    if (await this.waitExit(3000)) return 'sigterm';
    this.child.kill('SIGKILL');
    await this.waitExit(5000);
    return 'sigkill';
  }
}

/** The real VM launcher: a QEMU process. */
export const launchQemu: VmLauncher = (spec, consoleLog) => QemuVm.start(spec, consoleLog);
