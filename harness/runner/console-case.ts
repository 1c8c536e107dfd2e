/**
 * Console-only boot verification, for kernels that cannot reach SSH (no
 * virtio_blk/ext4/virtio_net built in and no modules the harness can ship,
 * e.g. Debian's 6.19 vmlinuz). The kernel boots with the busybox-only probe
 * initramfs; its /init reports on the console and powers off. The boot point
 * checks the kernel banner, the report, the power-off and the console for
 * kernel trouble; every step that needs the guest is a SKIP with the reason.
 */
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../common/errors.js';
import { formatDuration } from '../common/units.js';
import type { CaseResult, PointResult, Status } from '../results/model.js';
import { formatMemmapArg } from '../scenario/memmap.js';
import type { Scenario } from '../scenario/load.js';
import { kernelIdentity, type KernelArtifact } from '../setup/artifacts.js';
import { parseProbeOutput, ramdaxReason, sshGap, type KernelCapabilities, type ProbeReport } from '../setup/capabilities.js';
import { capabilitiesOf } from '../setup/detect.js';
import { consoleCmdline, consoleVmSpec, ensureProbeInitramfs } from '../setup/probe.js';
import { findFindings, type Finding } from '../triage/findings.js';
import { QemuVm } from '../vm/qemu.js';
import { MARKERS } from './boot.js';
import { machineRecord, type MachineEnv } from './machine.js';
import { capabilityGap } from './capability-gate.js';
import type { Emit } from './steps.js';

const POWER_DOWN = /reboot: Power down/;

/** What the console showed, judged (pure; unit-tested). */
export interface ConsoleVerdict {
  status: 'pass' | 'fail';
  reason?: string;
  report: ProbeReport;
  findings: Finding[];
  banner: boolean;
  powerDown: boolean;
}

export function judgeConsole(lines: string[], o: { release: string; exitCode: number | undefined; stop: string; carveOuts: number }): ConsoleVerdict {
  const report = parseProbeOutput(lines.join('\n'));
  const findings = findFindings(lines);
  const banner = lines.some((l) => MARKERS.kernel.test(l));
  const powerDown = lines.some((l) => POWER_DOWN.test(l));
  const problems: string[] = [];
  if (findings.length) problems.push(`kernel reported ${findings[0]!.title}`);
  if (!banner) problems.push('no kernel banner (Linux version ...) on the console');
  else if (!report.done) problems.push(report.release ? 'the init report stopped before its end' : 'the initramfs /init never reported');
  if (report.release && report.release !== o.release) problems.push(`uname -r says ${report.release}, expected ${o.release}`);
  if (o.carveOuts && report.done && report.pmem.length === 0) problems.push(`no Persistent Memory range in /proc/iomem for ${o.carveOuts} carve-out(s)`);
  if (report.done && !(o.stop === 'exited' && o.exitCode === 0 && powerDown)) problems.push(`no clean power-off (QEMU ${o.stop}, exit ${o.exitCode ?? '?'}${powerDown ? '' : ', no "reboot: Power down"'})`);
  return { status: problems.length ? 'fail' : 'pass', reason: problems.join('; ') || undefined, report, findings, banner, powerDown };
}

/** Why a step of this case is skipped on this kernel. */
export function consoleSkipReason(step: Scenario['steps'][number], kernel: KernelArtifact, caps: KernelCapabilities): string {
  const gap = capabilityGap(step, caps, kernel.release);
  const ssh = sshGap(caps) ?? 'cannot reach SSH';
  return `${gap ?? (caps.options.RAMDAX === 'absent' ? ramdaxReason(kernel.release, caps) : `kernel ${kernel.release}`)}; ${ssh} (console-only boot: this step needs the guest)`;
}

/** Does `kernel` take the console path? */
export function isConsoleOnly(kernel: KernelArtifact): boolean {
  return !capabilitiesOf(kernel).ssh.reachable;
}

/** Boot, judge the console, skip the steps. Never throws: every outcome is a point. */
export async function runConsoleCase(
  s: Scenario,
  kernel: KernelArtifact,
  result: CaseResult,
  o: { emit: Emit; consoleFile: string; env: MachineEnv; name: string },
): Promise<void> {
  const { emit, env } = o;
  const caps = capabilitiesOf(kernel);
  const t0 = Date.now();
  const cmdline = consoleCmdline([...s.memmap.map(formatMemmapArg), ...s.cmdline]);
  result.kernel = { name: kernel.name, release: kernel.release, source: kernel.source, sha256: kernel.sha256, ramdax: kernel.ramdax, kind: kernel.kind ?? 'debian', capabilities: caps, ...kernelIdentity(kernel) };
  result.cmdline = cmdline;
  result.accel = { accel: 'tcg', reason: s.machine.icount === undefined ? 'console-only boot' : `console-only boot; machine.icount: ${s.machine.icount}` };
  result.machine = machineRecord(s.machine);
  let vm: QemuVm | undefined;
  let socket: string | undefined;
  let boot: Omit<PointResult, 'id'>;
  let shutdown: Omit<PointResult, 'id'> | undefined;
  try {
    // The probe initramfs carries the host's busybox and the console is ttyS0: x86_64 guests only.
    if (s.machine.type === 'virt') throw new Error(`console-only boot verification is x86_64 only: kernel ${kernel.release} cannot reach SSH (${sshGap(caps) ?? '?'})`);
    const initrd = await ensureProbeInitramfs(env.cacheDir);
    const spec = await consoleVmSpec({ qemu: env.qemuBinary, vmlinuz: kernel.vmlinuz, initrd, cmdline, memoryBytes: s.machine.memory, cpus: s.machine.cpus, machine: s.machine.type, name: o.name, icount: s.machine.icount });
    socket = spec.qmpSocket;
    vm = new QemuVm(spec, o.consoleFile);
    result.qemuArgv = [spec.binary, ...vm.argv];
    const times = result.boot;
    vm.console.on('line', (l: { t: number; text: string }) => {
      if (times.kernelStartedMs === undefined && MARKERS.kernel.test(l.text)) times.kernelStartedMs = l.t;
      if (times.initStartedMs === undefined && /harness-probe: started/.test(l.text)) times.initStartedMs = l.t;
    });
    const why = await waitForExit(vm, s, env.interrupt);
    const stop = why ? await vm.stop(0) : 'exited';
    result.stop = stop;
    const ex = await vm.exit;
    const lines = vm.console.linesFrom(0).map((l) => l.text);
    const v = judgeConsole(lines, { release: kernel.release, exitCode: ex.exitCode, stop, carveOuts: s.carveOuts.length });
    const status: Status = why === 'interrupted' ? 'error' : lines.length === 0 ? 'error' : v.status;
    const reason = why === 'interrupted' ? 'interrupted' : lines.length === 0 ? `QEMU printed nothing (exit ${ex.exitCode ?? ex.signal}): ${ex.stderr.trim().split('\n').at(-1) ?? ''}` : [why, v.reason].filter(Boolean).join('; ') || undefined;
    const wallMs = Date.now() - vm.startedAt;
    boot = {
      name: 'boot',
      kind: 'boot',
      status,
      reason,
      durationMs: Date.now() - t0,
      findings: v.findings.length ? v.findings : undefined,
      details: { consoleOnly: true, release: v.report.release, pmem: v.report.pmem, e820Pmem: v.report.e820Pmem, ramdaxDriver: v.report.ramdaxDriver, powerOffMs: wallMs, ...times, ...(status === 'pass' ? {} : { consoleTail: vm.console.tail(40) }) },
    };
    // The power-off is part of the boot verdict; the shutdown point records it like the SSH path does.
    if (status === 'pass') shutdown = { name: 'shutdown', kind: 'shutdown', status: 'pass', durationMs: 0, details: { stop, exitCode: ex.exitCode, wallMs } };
  } catch (err) {
    vm?.killNow();
    boot = { name: 'boot', kind: 'boot', status: 'error', reason: describeError(err), durationMs: Date.now() - t0 };
  } finally {
    if (socket) await rm(socket, { force: true });
  }
  await emit(boot);
  for (const step of s.steps) {
    if (boot.status === 'pass') await emit({ name: step.name, kind: 'step', status: 'skip', reason: consoleSkipReason(step, kernel, caps), durationMs: 0 });
    else await emit({ name: step.name, kind: 'step', status: 'miss', reason: `boot ${boot.status === 'fail' ? 'failed' : 'errored'}`, durationMs: 0 });
  }
  if (shutdown) await emit(shutdown);
}

/** Wait for QEMU to exit; undefined when it did, else why it had to be stopped. Never longer than the boot deadline. */
async function waitForExit(vm: QemuVm, s: Scenario, interrupt: AbortSignal): Promise<string | undefined> {
  const deadline = vm.startedAt + s.timeouts.boot;
  let panicAt: number | undefined;
  for (;;) {
    if (await vm.waitExit(100)) return undefined;
    if (interrupt.aborted) return 'interrupted';
    if (Date.now() > deadline) return `no power-off within ${formatDuration(s.timeouts.boot)}`;
    if (Date.now() - vm.console.lastOutputAt > s.timeouts.silence) return `console silent for ${formatDuration(s.timeouts.silence)}`;
    // panic=-1 ends QEMU: give it a moment, then stop it.
    if (panicAt === undefined && findFindings(vm.console.tail(60).split('\n')).some((f) => f.type === 'panic')) panicAt = Date.now();
    if (panicAt !== undefined && Date.now() - panicAt > 3000) return 'kernel panic';
  }
}
