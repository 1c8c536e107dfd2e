import { findFindings } from '../triage/findings.js';
import { deviceState, readDmesg } from './guest-state.js';
import type { Machine, MachineEnv } from './machine.js';
import type { Emit } from './steps.js';
import type { Teardown } from './teardown.js';
import { coverageLost, saveCoverage } from './coverage.js';

/** The whole kernel log, kept beside the result (the store writes it to dmesg.txt). */
async function keepKernelLog(m: Machine, emit: Emit): Promise<void> {
  const all = (await readDmesg(m.session))?.lines;
  if (all) await emit({ type: 'kernel-log', lines: all });
}

/**
 * Keep the full kernel log, power the guest off, stop QEMU (teardown), and
 * emit the shutdown point: a kernel report during shutdown fails it, a QEMU
 * that had to be killed makes it an error.
 */
export async function shutdownMachine(m: Machine, o: { guestGone: boolean; emit: Emit; teardown: Teardown; env: MachineEnv; coverageDir?: string }): Promise<void> {
  const { clock } = o.env.fx;
  const t0 = clock.now();
  const consoleFrom = m.vm.console.lineCount;
  if (m.vm.running && !m.session.closed && !o.guestGone) {
    await keepKernelLog(m, o.emit);
    if (o.coverageDir) await saveCoverage(m, o.coverageDir, 'before power-off', o.emit);
    await m.session.exec('sync; echo o > /proc/sysrq-trigger', { timeoutMs: 5000 }).catch(() => undefined);
  } else if (o.coverageDir) {
    await coverageLost(o.coverageDir, 'before power-off', 'the guest was gone (panic, hang or QEMU exit) before power-off: the counters since the last collection are lost', o.emit);
  }
  await o.teardown.run();
  m.vm.killNow();
  // A kmemleak line here is the echo of the end-of-case scan, which has its own point already.
  const late = findFindings(m.vm.console.linesFrom(consoleFrom).map((l) => l.text)).filter((f) => !(m.kmemleak && f.type === 'kmemleak'));
  for (const finding of late) await o.emit({ type: 'finding', finding });
  const stop = m.stop;
  const clean = stop === 'exited' || stop === 'qmp-quit';
  await o.emit({
    type: 'shutdown',
    status: late.length ? 'fail' : clean ? 'pass' : 'error',
    reason: late.length ? `kernel reported ${late[0]!.title} at shutdown` : clean ? undefined : `QEMU had to be stopped with ${stop}`,
    durationMs: clock.now() - t0,
    details: { stop },
    stop,
  });
}

/**
 * A case that shares its boot with the next one must leave the device as it
 * found it (no namespaces it made, nothing mounted). Emits that check as a
 * point; returns whether the next case may use this guest.
 */
export async function handOver(m: Machine, before: string | undefined, o: { next: string; emit: Emit; env: MachineEnv; coverageDir?: string }): Promise<boolean> {
  const { clock } = o.env.fx;
  const t0 = clock.now();
  await keepKernelLog(m, o.emit);
  // Each case's own counters: saved and reset before the next case on this boot.
  if (o.coverageDir) await saveCoverage(m, o.coverageDir, 'end of case (shared boot)', o.emit);
  const after = m.vm.running ? await deviceState(m.session) : undefined;
  const same = before !== undefined && after !== undefined && before === after;
  await o.emit({
    type: 'handover',
    status: same ? 'pass' : 'fail',
    reason: same
      ? undefined
      : after === undefined || before === undefined
        ? 'could not read the namespaces and mounts to compare'
        : `the case left namespaces or mounts behind (shareBoot needs steps that undo what they do); ${o.next} gets a fresh boot`,
    durationMs: clock.now() - t0,
    details: { next: o.next, ...(same ? {} : { before, after }) },
  });
  return same;
}
