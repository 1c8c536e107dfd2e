import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '../common/errors.js';
import type { BootTimes, PointResult, Status } from '../results/model.js';
import type { Scenario } from '../scenario/load.js';
import { loadSshTarget } from '../session/ssh.js';
import { STEP_KINDS } from '../steps/registry.js';
import type { Guest, RebootMethod, StepContext } from '../steps/types.js';
import { stepMetrics } from '../perf/boot-metrics.js';
import { findFindings, taintFlags } from '../triage/findings.js';
import { bootGuest, BootFailure } from './boot.js';
import { StepFailure } from '../steps/recorder.js';
import { formatCommand, mergeFindings, readDmesg, responsive, unlessGone } from './guest-state.js';
import { kexecLoadScript, type Machine, type MachineEnv } from './machine.js';
import { powerCycle, restartsOnReset, WARM_REBOOT_COMMAND, warmRestart } from './restart.js';
import { capabilityGap } from './capability-gate.js';
import { capabilitiesOf } from '../setup/detect.js';
import { collectCoverage } from '../coverage/collect.js';
import { planDtb } from '../vm/dtb-plan.js';

export type Emit = (p: Omit<PointResult, 'id'>) => Promise<void>;

export interface StepsOutcome {
  /** Every step ran and none failed or errored (skips allowed). */
  completed: boolean;
  /** The guest can no longer be asked anything (QEMU gone, SSH broken, hung). */
  guestGone: boolean;
}

/** Mark the steps from `from` on as not run. */
export async function markRest(s: Scenario, from: number, emit: Emit, status: Status, reason: string): Promise<void> {
  for (const step of s.steps.slice(from)) await emit({ name: step.name, kind: 'step', status, reason, durationMs: 0 });
}

/**
 * Run a case's steps in a booted machine. After each step the kernel log and
 * taint mask are read: a finding or a taint change fails the step even when
 * its commands succeeded. The first failure marks the rest as missed.
 */
export async function runSteps(m: Machine, s: Scenario, caseDir: string, emit: Emit, env: MachineEnv): Promise<StepsOutcome> {
  const commandsLog = join(caseDir, 'commands.log');
  const guest: Guest = {
    exec: async (command, opts) => {
      // A command never outlives its VM or the run: QEMU exiting or SIGINT ends the wait.
      const r = await unlessGone(m.session.exec(command, opts), m.vm, env.interrupt);
      await appendFile(commandsLog, formatCommand(r)).catch(() => undefined);
      return r;
    },
  };
  let rebooted = false;
  // A guest that does not come back is the kernel's failure (a step fail), not the harness's.
  const reboot = (timeoutMs: number, method: RebootMethod) =>
    rebootOnce(timeoutMs, method).catch((err) => {
      throw err instanceof BootFailure && err.status === 'fail' ? new StepFailure(`the guest did not come back: ${err.message}`) : err;
    });
  const rebootOnce = async (timeoutMs: number, method: RebootMethod) => {
    // gcov counters live in guest RAM: saved before any kind of reboot ends it.
    if (env.coverage) await collectCoverage(m.session, caseDir, `before ${method} reboot`, m.inputs.kernel);
    if (method === 'power-cycle' || (method === 'warm' && restartsOnReset(m))) {
      const t = await (method === 'power-cycle' ? powerCycle : warmRestart)(m, s, env, timeoutMs);
      rebooted = true;
      return { ...t };
    }
    const from = { line: m.vm.console.lineCount, at: Date.now() };
    if (method === 'kexec') {
      const load = await guest.exec(kexecLoadScript(!!m.inputs.kernel.initrd), { timeoutMs: Math.min(timeoutMs, 120_000) });
      if (load.exitCode !== 0) throw new StepFailure(`kexec load failed (exit ${load.exitCode}): ${load.stderr.trim().split('\n').at(-1) ?? ''}`);
    }
    const jump = method === 'kexec' ? 'kexec -e' : WARM_REBOOT_COMMAND;
    await m.session.exec(jump, { timeoutMs: 3000 }).catch(() => undefined);
    m.session.close();
    const times: BootTimes = {};
    const target = await loadSshTarget(m.port, env.keys);
    m.session = await bootGuest(m.vm, target, { bootMs: timeoutMs, sshMs: s.timeouts.ssh, silenceMs: s.timeouts.silence }, times, env.interrupt, from);
    rebooted = true;
    return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, v === undefined ? undefined : v - (from.at - m.vm.startedAt)]));
  };
  const k = m.inputs.kernel;
  const caps = capabilitiesOf(k);
  const arm64 = s.machine.arch === 'arm64';
  const ctxBase = {
    guest,
    reboot,
    env: s.env,
    repeats: s.repeats,
    namespaces: new Map(),
    memo: new Map<string, unknown>(),
    carveOuts: s.carveOuts,
    arch: s.machine.arch,
    ...(arm64 ? { pmemNodes: planDtb(s.memmap, s.machine.memory).plan.nodes } : {}),
    kernel: { release: k.release, ramdax: k.ramdax },
    integrity: {},
  };
  if (m.taint === undefined) {
    const initial = await readDmesg(m.session);
    m.dmesgSeen = initial?.lines.length ?? 0;
    m.taint = initial?.taint;
  }
  for (const [i, step] of s.steps.entries()) {
    if (env.interrupt.aborted) {
      await markRest(s, i, emit, 'miss', 'run interrupted');
      return { completed: false, guestGone: false };
    }
    // A step that needs what this kernel lacks (ramdax, FS_DAX, DEV_DAX) is a SKIP, and so is the rest.
    const gap = capabilityGap(step, caps, k.release);
    if (gap) {
      await emit({ name: step.name, kind: 'step', status: 'skip', reason: gap, durationMs: 0 });
      await markRest(s, i + 1, emit, 'skip', gap);
      return { completed: true, guestGone: false };
    }
    const kind = STEP_KINDS.get(step.kind)!;
    const ctx: StepContext = { ...ctxBase, timeoutMs: step.timeoutMs, stepName: step.name };
    const consoleFrom = m.vm.console.lineCount;
    const vmBefore = m.vm;
    const t0 = Date.now();
    let point: Omit<PointResult, 'id'>;
    let skipRest = false;
    try {
      const out = await kind.run(ctx, step.params);
      skipRest = out.skipRest === true;
      const durationMs = Date.now() - t0;
      point = { name: step.name, kind: 'step', status: out.status, reason: out.reason, durationMs, commands: out.commands, details: out.details, subtap: out.subtap, metrics: stepMetrics(step, durationMs, out.metrics) };
    } catch (err) {
      // The SSH channel broke: the guest died (kernel's fault) or the harness did.
      const qemuGone = await m.vm.waitExit(1500);
      const ex = qemuGone ? await m.vm.exit : undefined;
      const reason = ex ? `QEMU exited (${ex.exitCode ?? ex.signal}) during the step — ${describeError(err)}` : describeError(err);
      point = { name: step.name, kind: 'step', status: 'error', reason, durationMs: Date.now() - t0 };
    }
    // After a time-out, make sure the guest still answers before asking it anything else.
    let guestHung = false;
    if (point.commands?.some((x) => x.timedOut) && !(await responsive(m.session))) {
      guestHung = true;
      point.reason = `${point.reason ?? ''}; the guest no longer answers SSH (hung?)`;
    }
    if (rebooted) {
      // A new kernel, a new log and taint mask.
      m.dmesgSeen = 0;
      m.taint = undefined;
      rebooted = false;
    }
    const state = m.vm.running && !guestHung ? await readDmesg(m.session) : undefined;
    const added = state ? state.lines.slice(m.dmesgSeen) : [];
    if (state) m.dmesgSeen = state.lines.length;
    // A power cycle replaces QEMU: the old one's tail and all of the new one's console count.
    const consoleLines = [...vmBefore.console.linesFrom(consoleFrom), ...(m.vm === vmBefore ? [] : m.vm.console.linesFrom(0))];
    const findings = mergeFindings(findFindings(added), findFindings(consoleLines.map((l) => l.text)));
    if (findings.length) {
      point.findings = findings;
      if (point.status === 'pass' || point.status === 'error' || point.status === 'skip') {
        point.reason = `kernel reported ${findings[0]!.title}${point.status === 'pass' ? ' (the command itself succeeded)' : ''}`;
        point.status = 'fail';
      }
    }
    // A taint change with no report in the log (a forced module, a machine check...) still fails the step.
    if (state && m.taint !== undefined && state.taint !== m.taint && point.status === 'pass') {
      point.status = 'fail';
      point.reason = `kernel taint changed from ${m.taint} to ${state.taint} (${taintFlags(state.taint & ~m.taint)})`;
    }
    if (state) m.taint = state.taint;
    if (added.length) point.dmesg = added;
    await emit(point);
    if (!m.vm.running || guestHung || (point.status === 'error' && m.session.closed)) {
      await markRest(s, i + 1, emit, 'miss', `guest gone after step ${i + 1}`);
      return { completed: false, guestGone: true };
    }
    // A failure a known-bad kernel is expected to show (expect.kernels, judged in emit) ends the case like any failure.
    if (point.details?.knownBad) {
      await markRest(s, i + 1, emit, 'miss', `step ${i + 1} (${step.name}) failed as known`);
      return { completed: false, guestGone: false };
    }
    if (point.status === 'fail' || point.status === 'error') {
      await markRest(s, i + 1, emit, 'miss', `step ${i + 1} (${step.name}) ${point.status === 'fail' ? 'failed' : 'errored'}`);
      return { completed: false, guestGone: false };
    }
    if (point.status === 'skip' && skipRest) {
      await markRest(s, i + 1, emit, 'skip', point.reason ?? 'ramdax unavailable');
      return { completed: true, guestGone: false };
    }
  }
  return { completed: true, guestGone: false };
}
