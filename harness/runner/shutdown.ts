import { writeFile } from 'node:fs/promises';
import type { Logger } from '../common/log.js';
import { findFindings } from '../triage/findings.js';
import { deviceState, readDmesg } from './guest-state.js';
import type { Machine } from './machine.js';
import type { Emit } from './steps.js';
import type { Teardown } from './teardown.js';
import { collectCoverage, markLost } from '../coverage/collect.js';

async function saveDmesg(m: Machine, file: string, log: Logger): Promise<void> {
  const all = (await readDmesg(m.session))?.lines;
  if (all) await writeFile(file, `${all.join('\n')}\n`).catch((err) => log.warn(`cannot save dmesg: ${err.message}`));
}

/**
 * Keep the full kernel log, power the guest off, stop QEMU (teardown), and
 * emit the shutdown point: a kernel report during shutdown fails it, a QEMU
 * that had to be killed makes it an error.
 */
export async function shutdownMachine(m: Machine, o: { dmesgFile: string; guestGone: boolean; emit: Emit; teardown: Teardown; log: Logger; coverageDir?: string }): Promise<void> {
  const t0 = Date.now();
  const consoleFrom = m.vm.console.lineCount;
  if (m.vm.running && !m.session.closed && !o.guestGone) {
    await saveDmesg(m, o.dmesgFile, o.log);
    if (o.coverageDir) await collectCoverage(m.session, o.coverageDir, 'before power-off', m.inputs.kernel);
    await m.session.exec('sync; echo o > /proc/sysrq-trigger', { timeoutMs: 5000 }).catch(() => undefined);
  } else if (o.coverageDir) {
    await markLost(o.coverageDir, 'the guest was gone (panic, hang or QEMU exit) before power-off: the counters since the last collection are lost');
  }
  await o.teardown.run();
  m.vm.killNow();
  // A kmemleak line here is the echo of the end-of-case scan, which has its own point already.
  const late = findFindings(m.vm.console.linesFrom(consoleFrom).map((l) => l.text)).filter((f) => !(m.kmemleak && f.type === 'kmemleak'));
  const stop = m.progress.stop;
  const clean = stop === 'exited' || stop === 'qmp-quit';
  await o.emit({
    name: 'shutdown',
    kind: 'shutdown',
    status: late.length ? 'fail' : clean ? 'pass' : 'error',
    reason: late.length ? `kernel reported ${late[0]!.title} at shutdown` : clean ? undefined : `QEMU had to be stopped with ${stop}`,
    durationMs: Date.now() - t0,
    findings: late.length ? late : undefined,
    details: { stop },
  });
}

/**
 * A case that shares its boot with the next one must leave the device as it
 * found it (no namespaces it made, nothing mounted). Emits that check as a
 * point; returns whether the next case may use this guest.
 */
export async function handOver(m: Machine, before: string | undefined, o: { dmesgFile: string; next: string; emit: Emit; log: Logger; coverageDir?: string }): Promise<boolean> {
  const t0 = Date.now();
  await saveDmesg(m, o.dmesgFile, o.log);
  // Each case's own counters: saved and reset before the next case on this boot.
  if (o.coverageDir) await collectCoverage(m.session, o.coverageDir, 'end of case (shared boot)', m.inputs.kernel);
  const after = m.vm.running ? await deviceState(m.session) : undefined;
  const same = before !== undefined && after !== undefined && before === after;
  await o.emit({
    name: 'device left as found',
    kind: 'handover',
    status: same ? 'pass' : 'fail',
    reason: same
      ? undefined
      : after === undefined || before === undefined
        ? 'could not read the namespaces and mounts to compare'
        : `the case left namespaces or mounts behind (shareBoot needs steps that undo what they do); ${o.next} gets a fresh boot`,
    durationMs: Date.now() - t0,
    details: { next: o.next, ...(same ? {} : { before, after }) },
  });
  return same;
}
