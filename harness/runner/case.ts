import { appendFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describeError, HarnessError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { BootTimes, CaseResult, PointResult, Status } from '../results/model.js';
import type { ResultStore } from '../results/store.js';
import type { PlannedCase, Reporter } from '../reporters/reporter.js';
import { formatMemmapArg } from '../scenario/memmap.js';
import type { Scenario } from '../scenario/load.js';
import { loadSshTarget, type SshSession } from '../session/ssh.js';
import { currentImage, currentKernel } from '../setup/artifacts.js';
import type { KeyPaths } from '../setup/keys.js';
import { STEP_KINDS } from '../steps/registry.js';
import type { CommandResult, Guest, StepContext } from '../steps/types.js';
import { findFindings, taintFlags, type Finding } from '../triage/findings.js';
import { resolveAccel } from '../vm/accel.js';
import { writeRepro } from '../results/repro.js';
import { freeLoopbackPort } from '../vm/ports.js';
import { baseCmdline, type VmSpec } from '../vm/qemu-args.js';
import { QemuVm } from '../vm/qemu.js';
import { bootGuest, BootFailure } from './boot.js';

export interface CaseEnv {
  store: ResultStore;
  reporter: Required<Reporter>;
  cacheDir: string;
  keys: KeyPaths;
  qemuBinary: string;
  log: Logger;
  interrupt: AbortSignal;
  /** Try this host port first for the first VM's SSH forward (then free ones). */
  firstSshPort?: number;
}

export interface Case {
  id: string;
  scenario: Scenario;
}

const PORT_RETRIES = 3;
let qmpCounter = 0;

/** Run one case from boot to power-off. Never throws: every outcome is a result. */
export async function runCase(c: Case, planned: PlannedCase, env: CaseEnv): Promise<CaseResult> {
  const s = c.scenario;
  const started = Date.now();
  const dir = env.store.caseDir(c.id);
  await mkdir(dir, { recursive: true });
  const rel = (p: string) => relative(env.store.dir, p);
  const result: CaseResult = {
    id: c.id,
    scenario: s.name,
    file: s.file,
    status: 'pass',
    startedAt: new Date(started).toISOString(),
    durationMs: 0,
    boot: {},
    points: [],
    files: { console: rel(join(dir, 'console.log')), dmesg: rel(join(dir, 'dmesg.txt')), commands: rel(join(dir, 'commands.log')) },
  };
  const emit = async (p: Omit<PointResult, 'id'>) => {
    const point: PointResult = { id: result.points.length + 1, ...p };
    result.points.push(point);
    await env.reporter.onPoint(planned, point);
    await env.store.event({ type: 'point', case: c.id, id: point.id, name: point.name, status: point.status, reason: point.reason, durationMs: point.durationMs });
  };
  const missRest = async (from: number, status: Status, reason: string) => {
    for (const step of s.steps.slice(from)) await emit({ name: step.name, kind: 'step', status, reason, durationMs: 0 });
  };

  // Teardown is registered before the thing it undoes is set up, and runs in reverse.
  const teardown: (() => Promise<void>)[] = [];
  let vm: QemuVm | undefined;
  let session: SshSession | undefined;
  const bootStart = Date.now();
  try {
    const kernel = await currentKernel(env.cacheDir, s.kernel);
    const image = await currentImage(env.cacheDir, s.image);
    result.kernel = { name: kernel.name, release: kernel.release, source: kernel.source, sha256: kernel.sha256, ramdax: kernel.ramdax };
    result.image = { name: image.name, sha256: image.sha256 };
    const accel = await resolveAccel(kernel.vmlinuz, env.qemuBinary);
    result.accel = { accel: accel.accel, reason: accel.reason };
    if (s.machine.accel === 'kvm' && accel.accel !== 'kvm') throw new HarnessError('infra', `scenario requires KVM: ${accel.reason}`);
    // A scenario that reboots its guest needs QEMU to reset instead of exiting.
    const noReboot = !s.steps.some((st) => st.kind === 'reboot');
    const cmdline = [...baseCmdline({ initrd: !!kernel.initrd, noReboot }), ...s.memmap.map(formatMemmapArg), ...s.cmdline].join(' ');
    result.cmdline = cmdline;
    const target = await loadSshTarget(0, env.keys);

    let portRetries = 0;
    const failedBoots: { attempt: number; status: string; reason: string; findings: string[] }[] = [];
    for (let attempt = 1; ; attempt++) {
      const port = attempt === 1 && env.firstSshPort ? env.firstSshPort : await freeLoopbackPort();
      const spec: VmSpec = {
        binary: env.qemuBinary,
        machine: s.machine.type,
        accel: s.machine.accel === 'tcg' ? 'tcg' : accel.accel,
        cpus: s.machine.cpus,
        memoryBytes: s.machine.memory,
        kernel: kernel.vmlinuz,
        initrd: kernel.initrd,
        cmdline,
        disks: [
          { path: image.rootfs, format: 'raw', snapshot: true },
          ...(kernel.modulesDisk ? [{ path: kernel.modulesDisk, format: 'raw' as const, readonly: true }] : []),
        ],
        sshPort: port,
        // Unix socket paths are limited to 107 bytes: keep it short, outside the run folder.
        qmpSocket: join(tmpdir(), `ramdax-qmp-${process.pid}-${++qmpCounter}.sock`),
        noReboot,
        name: `ramdax-harness:${env.store.run.runId}:${c.id}`,
      };
      let thisVm: QemuVm | undefined;
      teardown.push(async () => {
        if (thisVm) result.stop = await thisVm.stop(s.timeouts.teardown);
        await rm(spec.qmpSocket, { force: true });
      });
      thisVm = new QemuVm(spec, join(dir, 'console.log'));
      vm = thisVm;
      result.qemuArgv = [spec.binary, ...thisVm.argv];
      result.sshPort = port;
      result.boot = {};
      try {
        session = await bootGuest(vm, { ...target, port }, { bootMs: s.timeouts.boot, sshMs: s.timeouts.ssh, silenceMs: s.timeouts.silence }, result.boot, env.interrupt);
        break;
      } catch (err) {
        if (err instanceof BootFailure && err.portInUse && portRetries++ < PORT_RETRIES) {
          env.log.warn(`${c.id}: SSH port ${port} was taken, retrying with another`);
          continue;
        }
        // Boot retry policy: a boot that fails once and then works is reported as flaky, not hidden.
        if (err instanceof BootFailure && err.message !== 'interrupted' && failedBoots.length < s.retries.boot && !env.interrupt.aborted) {
          failedBoots.push({ attempt, status: err.status, reason: err.message, findings: err.findings.map((f) => f.title) });
          env.log.warn(`${c.id}: boot attempt ${attempt} failed (${err.message}); retrying (retries.boot: ${s.retries.boot})`);
          await thisVm.stop(0);
          await appendFile(join(dir, 'console.log'), `\n=== ramdax-harness: boot attempt ${attempt} failed: ${err.message}; attempt ${attempt + 1} follows ===\n`).catch(() => undefined);
          continue;
        }
        if (err instanceof BootFailure && failedBoots.length) err.message += ` (also failed on ${failedBoots.length} earlier attempt(s): ${failedBoots.map((b) => b.reason).join('; ')})`;
        throw err;
      }
    }
    teardown.push(async () => session?.close());
    await emit({
      name: 'boot',
      kind: 'boot',
      status: 'pass',
      durationMs: Date.now() - bootStart,
      details: { ...result.boot, accel: result.accel, kernel: kernel.release, ...(failedBoots.length ? { flakyBoot: failedBoots } : {}) },
    });
  } catch (err) {
    const bf = err instanceof BootFailure ? err : undefined;
    const status: Status = bf ? bf.status : 'error';
    await emit({
      name: 'boot',
      kind: 'boot',
      status,
      reason: bf ? bf.message : describeError(err),
      durationMs: Date.now() - bootStart,
      findings: bf?.findings,
      details: { ...result.boot, ...(bf ? { consoleTail: bf.consoleTail } : {}), ...(err instanceof HarnessError && err.hint ? { hint: err.hint } : {}) },
    });
    await missRest(0, 'miss', env.interrupt.aborted ? 'run interrupted' : `boot ${status === 'fail' ? 'failed' : 'errored'}`);
    await runTeardown(teardown, env.log);
    return finish(result, started, vm, c, env);
  }

  // Steps.
  const commandsLog = join(dir, 'commands.log');
  const guest: Guest = {
    exec: async (command, opts) => {
      // A command never outlives its VM or the run: QEMU exiting or SIGINT ends the wait.
      const r = await Promise.race([session!.exec(command, opts), gone(vm!, env.interrupt)]);
      await appendFile(commandsLog, formatCommand(r)).catch(() => undefined);
      return r;
    },
  };
  let rebooted = false;
  const reboot = async (timeoutMs: number) => {
    const from = { line: vm!.console.lineCount, at: Date.now() };
    await session!.exec('sync; echo 1 > /proc/sys/kernel/sysrq; echo b > /proc/sysrq-trigger', { timeoutMs: 3000 }).catch(() => undefined);
    session!.close();
    const times: BootTimes = {};
    const target = await loadSshTarget(result.sshPort!, env.keys);
    session = await bootGuest(vm!, target, { bootMs: timeoutMs, sshMs: s.timeouts.ssh, silenceMs: s.timeouts.silence }, times, env.interrupt, from);
    rebooted = true;
    return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, v === undefined ? undefined : v - (from.at - vm!.startedAt)]));
  };
  const ctxBase = { guest, reboot, env: s.env, namespaces: new Map(), carveOuts: s.carveOuts, kernel: { release: result.kernel!.release, ramdax: result.kernel!.ramdax as 'builtin' | 'module' | 'absent' } };
  const initial = await readDmesg(session!);
  let dmesgSeen = initial?.lines.length ?? 0;
  let taint = initial?.taint;
  let guestHung = false;
  for (const [i, step] of s.steps.entries()) {
    if (env.interrupt.aborted) {
      await missRest(i, 'miss', 'run interrupted');
      break;
    }
    const kind = STEP_KINDS.get(step.kind)!;
    const ctx: StepContext = { ...ctxBase, timeoutMs: step.timeoutMs };
    const consoleFrom = vm!.console.lineCount;
    const t0 = Date.now();
    let point: Omit<PointResult, 'id'>;
    try {
      const out = await kind.run(ctx, step.params);
      point = { name: step.name, kind: 'step', status: out.status, reason: out.reason, durationMs: Date.now() - t0, commands: out.commands, details: out.details, subtap: out.subtap };
    } catch (err) {
      // The SSH channel broke: the guest died (kernel's fault) or the harness did.
      const qemuGone = await vm!.waitExit(1500);
      const ex = qemuGone ? await vm!.exit : undefined;
      const reason = ex ? `QEMU exited (${ex.exitCode ?? ex.signal}) during the step — ${describeError(err)}` : describeError(err);
      point = { name: step.name, kind: 'step', status: 'error', reason, durationMs: Date.now() - t0 };
    }
    // After a time-out, make sure the guest still answers before asking it anything else.
    if (point.commands?.some((x) => x.timedOut) && !(await responsive(session!))) {
      guestHung = true;
      point.reason = `${point.reason ?? ''}; the guest no longer answers SSH (hung?)`;
    }
    if (rebooted) {
      // A new kernel, a new log and taint mask.
      dmesgSeen = 0;
      taint = undefined;
      rebooted = false;
    }
    const state = vm!.running && !guestHung ? await readDmesg(session!) : undefined;
    const dmesg = state?.lines;
    const added = dmesg ? dmesg.slice(dmesgSeen) : [];
    if (dmesg) dmesgSeen = dmesg.length;
    // A taint change with no report in the log (a forced module, a machine check...) still fails the step.
    if (state && taint !== undefined && state.taint !== taint && point.status === 'pass') {
      point.status = 'fail';
      point.reason = `kernel taint changed from ${taint} to ${state.taint} (${taintFlags(state.taint & ~taint)})`;
    }
    if (state) taint = state.taint;
    const findings = mergeFindings(findFindings(added), findFindings(vm!.console.linesFrom(consoleFrom).map((l) => l.text)));
    if (findings.length) {
      point.findings = findings;
      if (point.status === 'pass' || point.status === 'error' || point.status === 'skip') {
        point.reason = `kernel reported ${findings[0]!.title}${point.status === 'pass' ? ' (the command itself succeeded)' : ''}`;
        point.status = 'fail';
      }
    }
    if (added.length) point.dmesg = added;
    await emit(point);
    if (!vm!.running || guestHung || (point.status === 'error' && session!.closed)) {
      await missRest(i + 1, 'miss', `guest gone after step ${i + 1}`);
      break;
    }
    if (point.status === 'fail' || point.status === 'error') {
      await missRest(i + 1, 'miss', `step ${i + 1} (${step.name}) ${point.status === 'fail' ? 'failed' : 'errored'}`);
      break;
    }
    if (point.status === 'skip' && step.kind === 'ramdax') {
      await missRest(i + 1, 'skip', point.reason ?? 'ramdax unavailable');
      break;
    }
  }

  // Shutdown: keep the full kernel log, power off, check the guest went down cleanly.
  const t0 = Date.now();
  const consoleFrom = vm!.console.lineCount;
  if (vm!.running && !session!.closed && !guestHung) {
    const all = (await readDmesg(session!))?.lines;
    if (all) await writeFile(join(dir, 'dmesg.txt'), `${all.join('\n')}\n`).catch((err) => env.log.warn(`${c.id}: cannot save dmesg: ${err.message}`));
    await session!.exec('sync; echo o > /proc/sysrq-trigger', { timeoutMs: 5000 }).catch(() => undefined);
  }
  await runTeardown(teardown, env.log);
  const late = findFindings(vm!.console.linesFrom(consoleFrom).map((l) => l.text));
  const clean = result.stop === 'exited' || result.stop === 'qmp-quit';
  await emit({
    name: 'shutdown',
    kind: 'shutdown',
    status: late.length ? 'fail' : clean ? 'pass' : 'error',
    reason: late.length ? `kernel reported ${late[0]!.title} at shutdown` : clean ? undefined : `QEMU had to be stopped with ${result.stop}`,
    durationMs: Date.now() - t0,
    findings: late.length ? late : undefined,
    details: { stop: result.stop },
  });
  return finish(result, started, vm, c, env);
}

/** Rejects when QEMU exits or the run is interrupted, whichever comes first. */
function gone(vm: QemuVm, interrupt: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    vm.exit.then((e) => reject(new Error(`QEMU exited (${e.exitCode ?? e.signal})`)));
    if (interrupt.aborted) reject(interrupt.reason);
    interrupt.addEventListener('abort', () => reject(interrupt.reason), { once: true });
  });
}

async function runTeardown(teardown: (() => Promise<void>)[], log: Logger): Promise<void> {
  for (const fn of teardown.reverse()) {
    try {
      await fn();
    } catch (err) {
      log.warn(`teardown: ${describeError(err)}`);
    }
  }
  teardown.length = 0;
}

async function finish(result: CaseResult, started: number, vm: QemuVm | undefined, c: Case, env: CaseEnv): Promise<CaseResult> {
  vm?.killNow();
  result.durationMs = Date.now() - started;
  result.status = caseStatus(result.points);
  const bad = result.points.find((p) => p.status === result.status && p.reason);
  if (bad && result.status !== 'pass') result.reason = `${bad.name}: ${bad.reason}`;
  if (result.status === 'fail' || result.status === 'error') {
    try {
      const dir = await writeRepro({ caseDir: env.store.caseDir(c.id), result, run: env.store.run, scenario: c.scenario, sshKey: env.keys.clientKey });
      result.files.repro = relative(env.store.dir, dir);
    } catch (err) {
      env.log.warn(`${c.id}: cannot write the reproducer bundle: ${describeError(err)}`);
    }
  }
  return result;
}

/** fail/error/miss when any point is; skip when every step was skipped; else pass. */
export function caseStatus(points: PointResult[]): Status {
  for (const s of ['error', 'fail', 'miss'] as const) if (points.some((p) => p.status === s)) return s;
  const steps = points.filter((p) => p.kind === 'step');
  if (steps.length && steps.every((p) => p.status === 'skip')) return 'skip';
  return 'pass';
}

async function responsive(session: SshSession): Promise<boolean> {
  try {
    return (await session.exec('true', { timeoutMs: 5000 })).exitCode === 0;
  } catch {
    return false;
  }
}

/** The kernel's taint mask and log, in one round trip. */
async function readDmesg(session: SshSession): Promise<{ taint: number; lines: string[] } | undefined> {
  try {
    const r = await session.exec('cat /proc/sys/kernel/tainted; dmesg', { timeoutMs: 15_000 });
    if (r.exitCode !== 0) return undefined;
    const [first, ...rest] = r.stdout.replace(/\n$/, '').split('\n');
    return { taint: Number(first), lines: rest };
  } catch {
    return undefined;
  }
}

function mergeFindings(a: Finding[], b: Finding[]): Finding[] {
  const seen = new Set(a.map((f) => f.title));
  return [...a, ...b.filter((f) => !seen.has(f.title))];
}

function formatCommand(r: CommandResult): string {
  return `$ ${r.command}\n# exit=${r.exitCode ?? r.signal}${r.timedOut ? ' (timed out)' : ''} ${r.durationMs}ms\n${r.stdout}${r.stderr ? `# stderr:\n${r.stderr}` : ''}\n`;
}
