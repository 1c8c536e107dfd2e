import { describeError } from '../common/errors.js';
import type { CaseEventBody } from '../model/events.js';
import type { CommandResult, Guest } from '../model/guest.js';
import type { PointResult } from '../model/results.js';
import type { Status } from '../model/status.js';
import type { Scenario } from '../scenario/load.js';
import { STEP_KINDS } from '../steps/registry.js';
import type { RebootMethod, StepContext, StepOutcome } from '../steps/types.js';
import { stepMetrics } from '../perf/boot-metrics.js';
import { findFindings, taintFlags } from '../triage/findings.js';
import { bootGuest, BootFailure } from './boot.js';
import { StepFailure } from '../steps/recorder.js';
import { mergeFindings, readDmesg, responsive, unlessGone } from './guest-state.js';
import { kexecLoadScript } from './kexec.js';
import type { Machine, MachineEnv } from './machine.js';
import { powerCycle, restartsOnReset, WARM_REBOOT_COMMAND, warmRestart } from './restart.js';
import { capabilityGap } from './capability-gate.js';
import { capabilitiesOf } from '../setup/detect.js';
import { saveCoverage } from './coverage.js';
import { planDtb } from '../vm/dtb-plan.js';

/** Emits one case event (the runner's case stream); resolves with the test point it ended, as judged, if it ended one. */
export type Emit = (e: CaseEventBody) => Promise<PointResult | undefined>;

export interface StepsOutcome {
  /** Every step ran and none failed or errored (skips allowed). */
  completed: boolean;
  /** The guest can no longer be asked anything (QEMU gone, SSH broken, hung). */
  guestGone: boolean;
}

/** Mark the steps from `from` on as not run. */
export async function markRest(s: Scenario, from: number, emit: Emit, status: Status, reason: string): Promise<void> {
  for (const step of s.steps.slice(from)) await emit({ type: 'step-ended', index: step.index, name: step.name, status, reason, durationMs: 0 });
}

/** What a step ended with, before the runner's own checks (kernel log, taint, console) judge it. */
interface Ended {
  status: Status;
  reason?: string;
  durationMs: number;
  details?: Record<string, unknown>;
  subtap?: string;
  metrics?: StepOutcome['metrics'];
}

/**
 * Run a case's steps in a booted machine, emitting step-started, each guest
 * command, each kernel finding and step-ended. After each step the kernel log
 * and taint mask are read: a finding or a taint change fails the step even
 * when its commands succeeded. The first failure marks the rest as missed.
 * With `run --coverage` (and the case's folder), the gcov counters are saved
 * before every reboot.
 */
export async function runSteps(m: Machine, s: Scenario, emit: Emit, env: MachineEnv, caseDir?: string): Promise<StepsOutcome> {
  const { clock } = env.fx;
  let stepCommands: CommandResult[] = [];
  const guest: Guest = {
    exec: async (command, opts) => {
      // A command never outlives its VM or the run: QEMU exiting or SIGINT ends the wait.
      const r = await unlessGone(m.session.exec(command, opts), m.vm, env.interrupt);
      stepCommands.push(r);
      await emit({ type: 'command', result: r });
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
    if (env.coverage && caseDir) await saveCoverage(m, caseDir, `before ${method} reboot`, emit);
    if (method === 'power-cycle' || (method === 'warm' && restartsOnReset(m))) {
      const t = await (method === 'power-cycle' ? powerCycle : warmRestart)(m, s, env, timeoutMs);
      rebooted = true;
      return { ...t } as Record<string, number | undefined>;
    }
    const from = { line: m.vm.console.lineCount, at: clock.now() };
    if (method === 'kexec') {
      const load = await guest.exec(kexecLoadScript(!!m.inputs.kernel.initrd), { timeoutMs: Math.min(timeoutMs, 120_000) });
      if (load.exitCode !== 0) throw new StepFailure(`kexec load failed (exit ${load.exitCode}): ${load.stderr.trim().split('\n').at(-1) ?? ''}`);
    }
    const jump = method === 'kexec' ? 'kexec -e' : WARM_REBOOT_COMMAND;
    await m.session.exec(jump, { timeoutMs: 3000 }).catch(() => undefined);
    m.session.close();
    const { session, times } = await bootGuest(m.vm, {
      transport: env.fx.guest,
      port: m.port,
      deadlines: { bootMs: timeoutMs, sshMs: s.timeouts.ssh, silenceMs: s.timeouts.silence },
      clock,
      interrupt: env.interrupt,
      from,
    });
    m.session = session;
    rebooted = true;
    return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, v === undefined ? undefined : v - (from.at - m.vm.startedAt)])) as Record<string, number | undefined>;
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
      await emit({ type: 'step-ended', index: step.index, name: step.name, status: 'skip', reason: gap, durationMs: 0 });
      await markRest(s, i + 1, emit, 'skip', gap);
      return { completed: true, guestGone: false };
    }
    const kind = STEP_KINDS.get(step.kind)!;
    const ctx: StepContext = { ...ctxBase, timeoutMs: step.timeoutMs, stepName: step.name };
    const consoleFrom = m.vm.console.lineCount;
    const vmBefore = m.vm;
    stepCommands = [];
    await emit({ type: 'step-started', index: step.index, name: step.name });
    const t0 = clock.now();
    let ended: Ended;
    let skipRest = false;
    try {
      const out = await kind.run(ctx, step.params);
      skipRest = out.skipRest === true;
      const durationMs = clock.now() - t0;
      ended = { status: out.status, reason: out.reason, durationMs, details: out.details, subtap: out.subtap, metrics: stepMetrics(step, durationMs, out.metrics) };
    } catch (err) {
      // The guest channel broke: the guest died (kernel's fault) or the harness did.
      const qemuGone = await m.vm.waitExit(1500);
      const ex = qemuGone ? await m.vm.exit : undefined;
      const reason = ex ? `QEMU exited (${ex.exitCode ?? ex.signal}) during the step — ${describeError(err)}` : describeError(err);
      ended = { status: 'error', reason, durationMs: clock.now() - t0 };
    }
    // After a time-out, make sure the guest still answers before asking it anything else.
    let guestHung = false;
    if (stepCommands.some((x) => x.timedOut) && !(await responsive(m.session))) {
      guestHung = true;
      ended.reason = `${ended.reason ?? ''}; the guest no longer answers SSH (hung?)`;
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
    for (const finding of findings) await emit({ type: 'finding', finding });
    if (findings.length && (ended.status === 'pass' || ended.status === 'error' || ended.status === 'skip')) {
      ended.reason = `kernel reported ${findings[0]!.title}${ended.status === 'pass' ? ' (the command itself succeeded)' : ''}`;
      ended.status = 'fail';
    }
    // A taint change with no report in the log (a forced module, a machine check...) still fails the step (a finding outranks it).
    if (state && m.taint !== undefined && state.taint !== m.taint && ended.status === 'pass') {
      ended.status = 'fail';
      ended.reason = `kernel taint changed from ${m.taint} to ${state.taint} (${taintFlags(state.taint & ~m.taint)})`;
    }
    if (state) m.taint = state.taint;
    // The point as recorded (an expected finding may have turned a failure into a pass): the run goes on from it.
    const point = (await emit({ type: 'step-ended', index: step.index, name: step.name, ...ended, dmesg: added.length ? added : undefined })) ?? ended;
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
