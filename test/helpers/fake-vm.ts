/**
 * Fakes for driving the runner without QEMU: a virtual clock, a VM that
 * replays a recorded serial console on that clock, and a guest (the SSH
 * transport) that answers commands from a script. Deadlines of minutes pass
 * in milliseconds; every fault of the robustness table can be staged.
 *
 * Only the effects are fake: the runner, the steps, the event fold, the
 * result store and TAP are the real ones.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../harness/common/clock.js';
import type { CommandResult, GuestSession } from '../../harness/model/guest.js';
import type { Effects } from '../../harness/runner/effects.js';
import { DEVICE_STATE_COMMAND } from '../../harness/runner/guest-state.js';
import type { GuestTransport } from '../../harness/session/ssh.js';
import { ConsoleStream } from '../../harness/vm/console.js';
import type { QemuExit, StopMethod, VmHandle } from '../../harness/vm/handle.js';
import { qemuArgv, type VmSpec } from '../../harness/vm/qemu-args.js';
import { root } from './cli.js';

/** Virtual time: `sleep` moves it forward at once (one waiter at a time, as the runner waits). */
export class FakeClock implements Clock {
  private t = Date.parse('2026-12-01T10:00:00Z');
  private readonly ticks = new Set<() => void>();

  now(): number {
    return this.t;
  }

  async sleep(ms: number): Promise<void> {
    this.t += Math.max(0, ms);
    for (const fn of [...this.ticks]) fn();
    await new Promise((r) => setImmediate(r));
  }

  onTick(fn: () => void): () => void {
    this.ticks.add(fn);
    return () => this.ticks.delete(fn);
  }
}

export interface ConsoleLine {
  /** Milliseconds after QEMU started. */
  t: number;
  text: string;
}

/** A recorded console (test/fixtures/consoles/NAME.log) as timed lines: printk time + `offsetMs` (firmware). */
export async function recordedConsole(name: string, offsetMs = 300): Promise<ConsoleLine[]> {
  const text = await readFile(join(root, 'test/fixtures/consoles', `${name}.log`), 'utf8');
  let t = offsetMs;
  return text
    .replace(/\r/g, '')
    .split('\n')
    .filter((l, i, all) => l !== '' || i < all.length - 1)
    .map((line) => {
      const m = /^\[\s*(\d+)\.(\d+)\]/.exec(line);
      t = m ? Math.max(t, offsetMs + Number(m[1]) * 1000 + Math.floor(Number(`0.${m[2]}`) * 1000)) : t + 1;
      return { t, text: line };
    });
}

/** The boot part of a console (up to and with `harness-init: sshd started`) and what follows it. */
export function splitAtSshd(lines: ConsoleLine[]): { boot: ConsoleLine[]; rest: ConsoleLine[] } {
  const i = lines.findIndex((l) => /harness-init: sshd started/.test(l.text));
  if (i < 0) return { boot: lines, rest: [] };
  return { boot: lines.slice(0, i + 1), rest: lines.slice(i + 1) };
}

export type Reply =
  | { stdout?: string; stderr?: string; exitCode?: number }
  /** No answer: the command runs until its time-out. */
  | 'hang'
  /** The SSH connection breaks under the command. */
  | 'drop'
  /** No answer ever (the handler made QEMU exit, or the run was interrupted). */
  | 'never';

/** What a guest command can do to its VM. */
export interface GuestWorld {
  vm: FakeVm;
  /** Print these lines on the console now (times are moved to now). */
  print(lines: (string | ConsoleLine)[]): void;
  /** Kernel log lines `dmesg` returns from now on, and the taint mask. */
  dmesg: string[];
  taint: number;
}

export type CommandHandler = (command: string, world: GuestWorld) => Reply | undefined;

export interface FakeBoot {
  /** Console lines, replayed as the clock passes them. */
  console: ConsoleLine[];
  /** QEMU ends by itself at this time after its start (a panic=-1 panic, a failed boot). */
  exitAt?: number;
  exit?: Partial<QemuExit>;
  /** Answers the guest's commands before the built-in ones (true, dmesg, device state, power-off). */
  commands?: CommandHandler;
  /** The guest ignores the power-off (a frozen userspace): QEMU has to be stopped by the harness. */
  ignoresPowerOff?: boolean;
  /** The guest's kernel log at boot, and taint. */
  dmesg?: string[];
}

/** A VM whose console is a recording, on the fake clock. */
export class FakeVm implements VmHandle {
  readonly argv: string[];
  readonly startedAt: number;
  readonly console: ConsoleStream;
  readonly exit: Promise<QemuExit>;
  readonly world: GuestWorld;
  private exited = false;
  private resolveExit!: (e: QemuExit) => void;
  private next = 0;
  private exitAt: number | undefined;
  private exitWith: QemuExit;
  private readonly untick: () => void;
  readonly sessions = new Set<FakeSession>();
  killed: StopMethod | undefined;

  constructor(
    readonly spec: VmSpec,
    readonly script: FakeBoot,
    private readonly clock: FakeClock,
    readonly attempt: number,
  ) {
    this.argv = qemuArgv(spec);
    this.startedAt = clock.now();
    this.console = new ConsoleStream(this.startedAt, () => clock.now());
    this.exit = new Promise((r) => (this.resolveExit = r));
    this.exitAt = script.exitAt;
    this.exitWith = { exitCode: script.exit?.exitCode ?? 0, signal: script.exit?.signal, stderr: script.exit?.stderr ?? '' };
    this.world = {
      vm: this,
      print: (lines) => {
        for (const l of lines) this.console.push(`${typeof l === 'string' ? l : l.text}\n`);
      },
      dmesg: [...(script.dmesg ?? ['[    0.000000] Linux version 7.2.13+deb14-amd64 (fake)', '[    0.000000] Command line: memmap=512M!4G'])],
      taint: 0,
    };
    this.untick = clock.onTick(() => this.pump());
    // QEMU prints nothing before its first tick; a VM that exits at 0 exits on its first look.
    queueMicrotask(() => this.pump());
  }

  /** Replay what the clock has passed: console lines, then a scheduled exit. */
  pump(): void {
    if (this.exited) return;
    const now = this.clock.now() - this.startedAt;
    while (this.next < this.script.console.length && this.script.console[this.next]!.t <= now) this.console.push(`${this.script.console[this.next++]!.text}\n`);
    if (this.exitAt !== undefined && now >= this.exitAt) this.end(this.exitWith);
  }

  /** Has the guest's sshd started (so SSH can connect)? */
  get sshUp(): boolean {
    return this.running && this.console.find(/harness-init: sshd started/) !== undefined;
  }

  get running(): boolean {
    return !this.exited;
  }

  /** QEMU ends (now): its console flushes, its connections drop. */
  end(e: QemuExit): void {
    if (this.exited) return;
    this.exited = true;
    this.untick();
    this.console.end();
    this.resolveExit(e);
    // The connection notices a moment later, as a real one does.
    setImmediate(() => {
      for (const s of this.sessions) s.drop('SSH connection closed');
    });
  }

  /** The guest powers off a moment from now (console says so, QEMU exits 0). */
  powerOffSoon(): void {
    if (this.script.ignoresPowerOff) return;
    const at = this.clock.now() - this.startedAt + 200;
    this.script.console.splice(this.next, this.script.console.length - this.next, { t: at - 100, text: '[  100.000000] reboot: Power down' });
    this.exitAt = at;
    this.exitWith = { exitCode: 0, signal: undefined, stderr: '' };
  }

  /** Set by endAtReset: the guest's `sysrq b` then ends the VM (exit 0), as QEMU's reboot=shutdown action does. */
  endsAtReset = false;

  async endAtReset(): Promise<void> {
    this.endsAtReset = true;
  }

  /** The guest resets itself a moment from now: with endAtReset QEMU exits 0, else (a reset in place) the fake just goes quiet. */
  resetSoon(): void {
    const at = this.clock.now() - this.startedAt + 200;
    this.script.console.splice(this.next, this.script.console.length - this.next, { t: at - 100, text: '[  100.000000] sysrq: Resetting' });
    if (!this.endsAtReset) return;
    this.exitAt = at;
    this.exitWith = { exitCode: 0, signal: undefined, stderr: '' };
  }

  killNow(): void {
    this.killed ??= 'sigkill';
    this.end({ exitCode: undefined, signal: 'SIGKILL', stderr: '' });
  }

  async waitExit(ms: number): Promise<boolean> {
    const until = this.clock.now() + ms;
    while (!this.exited && this.clock.now() < until) await this.clock.sleep(Math.min(50, until - this.clock.now()));
    return this.exited;
  }

  async stop(graceMs: number): Promise<StopMethod> {
    if (await this.waitExit(graceMs)) return 'exited';
    // QMP quit always works on the fake.
    this.killed = 'qmp-quit';
    this.end({ exitCode: 0, signal: undefined, stderr: '' });
    return 'qmp-quit';
  }
}

/** A guest connection: built-in answers for what the runner asks, the script's for the rest. */
export class FakeSession implements GuestSession {
  private reason: string | undefined;
  readonly log: string[] = [];

  constructor(
    private readonly vm: FakeVm,
    private readonly clock: FakeClock,
  ) {
    vm.sessions.add(this);
  }

  get closed(): string | undefined {
    return this.reason;
  }

  close(): void {
    this.reason ??= 'SSH session closed by the harness';
    this.vm.sessions.delete(this);
  }

  drop(reason: string): void {
    this.reason ??= reason;
    for (const reject of this.inflight) reject(new Error(`${reason} while running a command`));
    this.inflight.clear();
  }

  private readonly inflight = new Set<(err: Error) => void>();

  async exec(command: string, opts: { timeoutMs: number; stdin?: string }): Promise<CommandResult> {
    if (this.reason) throw new Error(this.reason);
    this.log.push(command);
    const t0 = this.clock.now();
    const reply = this.vm.script.commands?.(command, this.vm.world) ?? builtin(command, this.vm);
    const done = (r: { stdout?: string; stderr?: string; exitCode?: number }): CommandResult => ({
      command,
      exitCode: r.exitCode ?? 0,
      stdout: r.stdout ?? '',
      stderr: r.stderr ?? '',
      durationMs: this.clock.now() - t0 + 5,
      timedOut: false,
    });
    if (reply === 'hang') {
      await this.clock.sleep(opts.timeoutMs);
      return { command, exitCode: null, stdout: '', stderr: '', durationMs: opts.timeoutMs, timedOut: true };
    }
    if (reply === 'drop') {
      this.drop('SSH connection closed');
      throw new Error(`SSH connection closed while running: ${command}`);
    }
    if (reply === 'never') return new Promise((_, reject) => this.inflight.add(reject));
    return done(reply);
  }
}

function builtin(command: string, vm: FakeVm): Exclude<Reply, 'hang' | 'drop' | 'never'> {
  if (command === 'true') return {};
  if (command === 'cat /proc/sys/kernel/tainted; dmesg') return { stdout: `${vm.world.taint}\n${vm.world.dmesg.join('\n')}\n` };
  if (command === DEVICE_STATE_COMMAND) return { stdout: '--- mounts\n' };
  if (command.includes('echo o > /proc/sysrq-trigger')) {
    vm.powerOffSoon();
    return {};
  }
  if (command.includes('echo b > /proc/sysrq-trigger')) {
    vm.resetSoon();
    return {};
  }
  return { exitCode: 127, stderr: `fake guest: no answer scripted for: ${command}` };
}

/** The fakes a run is given, and what they saw. */
export interface FakeHost {
  effects: Effects;
  clock: FakeClock;
  /** Every VM started, in order. */
  vms: FakeVm[];
  /** Every guest command, in order. */
  commands: string[];
}

/**
 * Effects for runCases: `boot(spec, attempt)` scripts each VM the runner
 * starts (attempt counts from 1 per test). Ports in `taken` are in use:
 * QEMU exits at once there, as it does when it cannot forward the port.
 */
export function fakeHost(boot: (spec: VmSpec, attempt: number) => FakeBoot, o: { taken?: number[] } = {}): FakeHost {
  const clock = new FakeClock();
  const vms: FakeVm[] = [];
  const commands: string[] = [];
  let port = 40_000;
  const transport: GuestTransport = {
    prepare: async () => undefined,
    connect: async (p) => {
      const vm = [...vms].reverse().find((v) => v.spec.sshPort === p);
      if (!vm?.sshUp) throw new Error(`connect ECONNREFUSED 127.0.0.1:${p}`);
      const s = new FakeSession(vm, clock);
      const exec = s.exec.bind(s);
      s.exec = (command, opts) => {
        commands.push(command);
        return exec(command, opts);
      };
      return s;
    },
  };
  const effects: Effects = {
    clock,
    vm: (spec) => {
      const taken = o.taken?.includes(spec.sshPort);
      const script: FakeBoot = taken
        ? { console: [], exitAt: 0, exit: { exitCode: 1, stderr: `qemu-system-x86_64: -netdev user,id=net0,hostfwd=tcp:127.0.0.1:${spec.sshPort}-:22: Could not set up host forwarding rule 'tcp:127.0.0.1:${spec.sshPort}-:22'` } }
        : boot(spec, vms.length + 1);
      const vm = new FakeVm(spec, structuredClone({ ...script, commands: undefined }) as FakeBoot, clock, vms.length + 1);
      vm.script.commands = script.commands;
      vms.push(vm);
      return vm;
    },
    guest: transport,
    freePort: async () => ++port,
    accel: async () => ({ accel: 'tcg', reason: 'fake host: TCG', needsTestBoot: false }),
    probeInitramfs: async () => '/fake/probe-initramfs.img',
    qemuVersion: async () => 'QEMU emulator version 7.2.0 (fake)',
    lifecycle: async () => undefined,
  };
  return { effects, clock, vms, commands };
}
