import type { Clock } from '../common/clock.js';
import { describeError } from '../common/errors.js';
import { formatDuration } from '../common/units.js';
import type { Milestone } from '../model/events.js';
import type { GuestSession } from '../model/guest.js';
import type { BootTimes } from '../model/results.js';
import { HostKeyMismatch, type GuestTransport } from '../session/ssh.js';
import { findFindings, type Finding } from '../triage/findings.js';
import { BOOT_MARKERS, watchBoot } from '../vm/boot-watch.js';
import type { VmHandle } from '../vm/handle.js';

export interface BootDeadlines {
  bootMs: number;
  sshMs: number;
  silenceMs: number;
}

/** Why a boot did not reach SSH: `fail` blames the kernel/guest, `error` the harness or host. */
export class BootFailure extends Error {
  constructor(
    readonly status: 'fail' | 'error',
    message: string,
    readonly findings: Finding[],
    readonly consoleTail: string,
    readonly portInUse = false,
  ) {
    super(message);
    this.name = 'BootFailure';
  }
}

export interface BootOptions {
  transport: GuestTransport;
  port: number;
  deadlines: BootDeadlines;
  clock: Clock;
  interrupt: AbortSignal;
  /** For a reboot inside the same QEMU: only console lines from here on count, deadlines start now. */
  from?: { line: number; at: number };
  /** Each boot stage as it is reached (ms since QEMU started). */
  onMilestone?: (name: Milestone, ms: number) => void;
}

/**
 * Wait for the guest to boot and answer SSH, watching the console for stage
 * markers and kernel trouble, QEMU for an early exit, and the clock for the
 * boot, SSH and silence deadlines (vm/boot-watch.ts). Never waits longer than
 * those. The session, and the stages as reached.
 */
export async function bootGuest(vm: VmHandle, o: BootOptions): Promise<{ session: GuestSession; times: BootTimes }> {
  const { clock, interrupt, deadlines: d } = o;
  const from = o.from ?? { line: 0, at: vm.startedAt };
  const times: BootTimes = {};
  const reached = (name: Milestone, ms: number) => {
    times[name] = ms;
    o.onMilestone?.(name, ms);
  };
  const since = (t: number) => t - vm.startedAt;
  const stage = (): string =>
    times.sshdStartedMs !== undefined ? 'sshd started' : times.initStartedMs !== undefined ? 'init started' : times.kernelStartedMs !== undefined ? 'kernel started' : 'no kernel output';
  const fail = (why: string, status?: 'fail' | 'error', portInUse = false) => {
    const findings = findFindings(vm.console.linesFrom(from.line).map((l) => l.text));
    const st = status ?? (findings.length || times.kernelStartedMs !== undefined ? 'fail' : 'error');
    return new BootFailure(st, `${why} (stage reached: ${stage()})${findings.length ? `: ${findings[0]!.title}` : ''}`, findings, vm.console.tail(40), portInUse);
  };
  const interrupted = () => new BootFailure('error', 'interrupted', [], vm.console.tail(40));

  // Phase 1: until init reports sshd started.
  const w = await watchBoot(vm, { markers: BOOT_MARKERS, until: 'sshdStartedMs', from, deadlineMs: d.bootMs, silenceMs: d.silenceMs, panicGraceMs: 2000, clock, interrupt, onMilestone: reached });
  switch (w.end) {
    case 'interrupted':
      throw interrupted();
    case 'exited': {
      const ex = w.exit;
      if (/Could not set up host forwarding rule/.test(ex.stderr)) throw fail(`QEMU could not forward the SSH port ${vm.spec.sshPort}: ${ex.stderr.trim()}`, 'error', true);
      const lines = vm.console.lineCount;
      throw fail(
        `QEMU exited (${ex.exitCode ?? ex.signal}) during boot after ${formatDuration(clock.now() - vm.startedAt)}${lines === 0 && ex.stderr.trim() ? `: ${ex.stderr.trim().split('\n').at(-1)}` : ''}`,
        lines === 0 ? 'error' : undefined,
      );
    }
    case 'timeout':
      throw fail(`boot timed out after ${formatDuration(d.bootMs)}`);
    case 'silent':
      throw fail(`console silent for ${formatDuration(d.silenceMs)}`);
    case 'panic':
      throw fail('kernel panic during boot');
    case 'reached':
      break;
  }

  // Phase 2: SSH answers (sshd may need a moment after it forks).
  const sshDeadline = clock.now() + d.sshMs;
  let lastErr: unknown;
  while (clock.now() < sshDeadline) {
    if (interrupt.aborted) throw interrupted();
    if (!vm.running) throw fail('QEMU exited before SSH answered');
    try {
      const session = await o.transport.connect(o.port, Math.min(15_000, Math.max(1000, sshDeadline - clock.now())));
      reached('sshReadyMs', since(clock.now()));
      const probe = await session.exec('true', { timeoutMs: Math.max(1000, sshDeadline - clock.now()) });
      if (probe.exitCode !== 0) throw new Error(`'true' over SSH exited ${probe.exitCode}`);
      reached('firstCommandMs', since(clock.now()));
      return { session, times };
    } catch (err) {
      if (err instanceof HostKeyMismatch) throw new BootFailure('error', err.message, [], vm.console.tail(40));
      lastErr = err;
      await clock.sleep(250);
    }
  }
  throw fail(`guest never answered SSH on 127.0.0.1:${vm.spec.sshPort} within ${formatDuration(d.sshMs)} after sshd started: ${describeError(lastErr)}`);
}
