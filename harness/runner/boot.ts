import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../common/errors.js';
import { formatDuration } from '../common/units.js';
import type { BootTimes } from '../results/model.js';
import { HostKeyMismatch, SshSession, type SshTarget } from '../session/ssh.js';
import { findFindings, type Finding } from '../triage/findings.js';
import type { QemuVm } from '../vm/qemu.js';

export const MARKERS = {
  kernel: /Linux version \d/,
  init: /harness-init: started/,
  sshd: /harness-init: sshd started/,
};

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

/**
 * Wait for the guest to boot and answer SSH, watching the console for stage
 * markers and kernel trouble, QEMU for an early exit, and the clock for the
 * boot, SSH and silence deadlines. Never waits longer than those.
 */
export async function bootGuest(
  vm: QemuVm,
  target: SshTarget,
  d: BootDeadlines,
  times: BootTimes,
  interrupt: AbortSignal,
  /** For a reboot inside the same QEMU: only console lines from here on count, deadlines start now. */
  from: { line: number; at: number } = { line: 0, at: vm.startedAt },
): Promise<SshSession> {
  const stage = (): string =>
    times.sshdStartedMs !== undefined ? 'sshd started' : times.initStartedMs !== undefined ? 'init started' : times.kernelStartedMs !== undefined ? 'kernel started' : 'no kernel output';
  const fail = (why: string, status?: 'fail' | 'error', portInUse = false) => {
    const lines = vm.console.linesFrom(from.line).map((l) => l.text);
    const findings = findFindings(lines);
    const st = status ?? (findings.length || times.kernelStartedMs !== undefined ? 'fail' : 'error');
    return new BootFailure(st, `${why} (stage reached: ${stage()})${findings.length ? `: ${findings[0]!.title}` : ''}`, findings, vm.console.tail(40), portInUse);
  };
  // One listener per boot, removed when the boot ends (a machine that reboots ten times must not keep ten).
  const marks: [RegExp, keyof BootTimes][] = [[MARKERS.kernel, 'kernelStartedMs'], [MARKERS.init, 'initStartedMs'], [MARKERS.sshd, 'sshdStartedMs']];
  const onLine = (l: { t: number; text: string }) => {
    for (const [re, field] of marks) if (times[field] === undefined && re.test(l.text)) times[field] = l.t;
  };
  vm.console.on('line', onLine);
  // Lines printed before the wait began (after a reboot: while the translation cache was being flushed) count too.
  for (const l of vm.console.linesFrom(from.line)) onLine(l);
  try {
    return await waitForGuest(vm, target, d, times, interrupt, from, fail);
  } finally {
    vm.console.off('line', onLine);
  }
}

/** The body of bootGuest: the two phases (sshd started, then SSH answers) under their deadlines. */
async function waitForGuest(
  vm: QemuVm,
  target: SshTarget,
  d: BootDeadlines,
  times: BootTimes,
  interrupt: AbortSignal,
  from: { line: number; at: number },
  fail: (why: string, status?: 'fail' | 'error', portInUse?: boolean) => BootFailure,
): Promise<SshSession> {
  const since = (t: number) => t - vm.startedAt;

  const bootDeadline = from.at + d.bootMs;
  let exited = false;
  vm.exit.then(() => (exited = true));

  // Phase 1: until init reports sshd started.
  let scanned = from.line;
  while (times.sshdStartedMs === undefined) {
    if (interrupt.aborted) throw new BootFailure('error', 'interrupted', [], vm.console.tail(40));
    if (exited) {
      const ex = await vm.exit;
      if (/Could not set up host forwarding rule/.test(ex.stderr)) throw fail(`QEMU could not forward the SSH port ${vm.spec.sshPort}: ${ex.stderr.trim()}`, 'error', true);
      const lines = vm.console.lineCount;
      throw fail(
        `QEMU exited (${ex.exitCode ?? ex.signal}) during boot after ${formatDuration(Date.now() - vm.startedAt)}${lines === 0 && ex.stderr.trim() ? `: ${ex.stderr.trim().split('\n').at(-1)}` : ''}`,
        lines === 0 ? 'error' : undefined,
      );
    }
    if (Date.now() > bootDeadline) throw fail(`boot timed out after ${formatDuration(d.bootMs)}`);
    if (Date.now() - vm.console.lastOutputAt > d.silenceMs) throw fail(`console silent for ${formatDuration(d.silenceMs)}`);
    // Only the lines new since the last look (a few back, for a finding that spans lines): not the whole boot every 100 ms.
    const fresh = vm.console.linesFrom(Math.max(from.line, scanned - 5));
    scanned = vm.console.lineCount;
    if (findFindings(fresh.map((l) => l.text)).some((f) => f.type === 'panic' || f.type === 'init-killed')) {
      await vm.waitExit(2000);
      throw fail('kernel panic during boot');
    }
    await sleep(100);
  }

  // Phase 2: SSH answers (sshd may need a moment after it forks).
  const sshDeadline = Date.now() + d.sshMs;
  let lastErr: unknown;
  while (Date.now() < sshDeadline) {
    if (interrupt.aborted) throw new BootFailure('error', 'interrupted', [], vm.console.tail(40));
    if (exited) throw fail('QEMU exited before SSH answered');
    try {
      const session = await SshSession.connect(target, Math.min(15_000, Math.max(1000, sshDeadline - Date.now())));
      times.sshReadyMs = since(Date.now());
      const probe = await session.exec('true', { timeoutMs: Math.max(1000, sshDeadline - Date.now()) });
      if (probe.exitCode !== 0) throw new Error(`'true' over SSH exited ${probe.exitCode}`);
      times.firstCommandMs = since(Date.now());
      return session;
    } catch (err) {
      if (err instanceof HostKeyMismatch) throw new BootFailure('error', err.message, [], vm.console.tail(40));
      lastErr = err;
      await sleep(250);
    }
  }
  throw fail(`guest never answered SSH on 127.0.0.1:${vm.spec.sshPort} within ${formatDuration(d.sshMs)} after sshd started: ${describeError(lastErr)}`);
}
