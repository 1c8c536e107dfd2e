/**
 * Console-only boot verification, for kernels that cannot reach SSH (no
 * virtio_blk/ext4/virtio_net built in and no modules the harness can ship,
 * e.g. Debian's 6.19 vmlinuz). The kernel boots with the busybox-only probe
 * initramfs; its /init reports on the console and powers off. The boot point
 * checks the kernel banner, the report, the power-off and the console for
 * kernel trouble; every step that needs the guest is a SKIP with the reason.
 */
import { describeError } from '../common/errors.js';
import { formatDuration } from '../common/units.js';
import type { Status } from '../model/status.js';
import { formatMemmapArg } from '../scenario/memmap.js';
import type { Scenario } from '../scenario/load.js';
import { kernelIdentity, type KernelArtifact } from '../setup/artifacts.js';
import { parseProbeOutput, ramdaxReason, sshGap, type KernelCapabilities, type ProbeReport } from '../setup/capabilities.js';
import { capabilitiesOf } from '../setup/detect.js';
import { consoleCmdline, consoleVmSpec } from '../setup/probe.js';
import { findFindings, type Finding } from '../triage/findings.js';
import { BOOT_MARKERS, PROBE_MARKERS, watchBoot, type WatchEnd } from '../vm/boot-watch.js';
import type { VmHandle } from '../vm/handle.js';
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
  const banner = lines.some((l) => BOOT_MARKERS.kernelStartedMs.test(l));
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

type EndedBody = Extract<Parameters<Emit>[0], { type: 'boot-ended' }>;

/** Boot, judge the console, skip the steps, emitting the case's boot events and points. Never throws: every outcome is a point. */
export async function runConsoleCase(s: Scenario, kernel: KernelArtifact, o: { emit: Emit; consoleFile: string; env: MachineEnv; name: string }): Promise<void> {
  const { emit, env } = o;
  const { clock } = env.fx;
  const caps = capabilitiesOf(kernel);
  const t0 = clock.now();
  const cmdline = consoleCmdline([...s.memmap.map(formatMemmapArg), ...s.cmdline]);
  await emit({
    type: 'boot-prepared',
    kernel: { name: kernel.name, release: kernel.release, source: kernel.source, sha256: kernel.sha256, ramdax: kernel.ramdax, kind: kernel.kind ?? 'debian', capabilities: caps, ...kernelIdentity(kernel) },
    accel: { accel: 'tcg', reason: s.machine.icount === undefined ? 'console-only boot' : `console-only boot; machine.icount: ${s.machine.icount}` },
    machine: machineRecord(s.machine),
    cmdline,
  });
  let vm: VmHandle | undefined;
  let boot: EndedBody;
  let shutdown: Extract<Parameters<Emit>[0], { type: 'shutdown' }> | undefined;
  try {
    // The probe initramfs carries the host's busybox and the console is ttyS0: x86_64 guests only.
    if (s.machine.type === 'virt') throw new Error(`console-only boot verification is x86_64 only: kernel ${kernel.release} cannot reach SSH (${sshGap(caps) ?? '?'})`);
    const initrd = await env.fx.probeInitramfs(env.cacheDir);
    const spec = consoleVmSpec({ qemu: env.qemuBinary, vmlinuz: kernel.vmlinuz, initrd, cmdline, memoryBytes: s.machine.memory, cpus: s.machine.cpus, machine: s.machine.type, name: o.name, icount: s.machine.icount, sshPort: await env.fx.freePort() });
    vm = env.fx.vm(spec, o.consoleFile);
    await emit({ type: 'boot-started', attempt: 1, argv: [spec.binary, ...vm.argv] });
    const times: Record<string, number> = {};
    const w = await watchBoot(vm, {
      markers: PROBE_MARKERS,
      deadlineMs: s.timeouts.boot,
      silenceMs: s.timeouts.silence,
      panicGraceMs: 3000,
      clock,
      interrupt: env.interrupt,
      onMilestone: (name, ms) => {
        times[name] = ms;
        void emit({ type: 'milestone', name, ms });
      },
    });
    const why = whyStopped(w, s);
    const stop = why ? await vm.stop(0) : 'exited';
    const ex = await vm.exit;
    const lines = vm.console.linesFrom(0).map((l) => l.text);
    const v = judgeConsole(lines, { release: kernel.release, exitCode: ex.exitCode, stop, carveOuts: s.carveOuts.length });
    const status: Status = why === 'interrupted' ? 'error' : lines.length === 0 ? 'error' : v.status;
    const reason = why === 'interrupted' ? 'interrupted' : lines.length === 0 ? `QEMU printed nothing (exit ${ex.exitCode ?? ex.signal}): ${ex.stderr.trim().split('\n').at(-1) ?? ''}` : [why, v.reason].filter(Boolean).join('; ') || undefined;
    const wallMs = clock.now() - vm.startedAt;
    for (const finding of v.findings) await emit({ type: 'finding', finding });
    boot = {
      type: 'boot-ended',
      status,
      reason,
      durationMs: clock.now() - t0,
      failedAttempts: [],
      stop,
      details: { consoleOnly: true, release: v.report.release, pmem: v.report.pmem, e820Pmem: v.report.e820Pmem, ramdaxDriver: v.report.ramdaxDriver, powerOffMs: wallMs, ...times, ...(status === 'pass' ? {} : { consoleTail: vm.console.tail(40) }) },
    };
    // The power-off is part of the boot verdict; the shutdown point records it like the SSH path does.
    if (status === 'pass') shutdown = { type: 'shutdown', status: 'pass', durationMs: 0, details: { stop, exitCode: ex.exitCode, wallMs } };
  } catch (err) {
    vm?.killNow();
    boot = { type: 'boot-ended', status: 'error', reason: describeError(err), durationMs: clock.now() - t0, failedAttempts: [] };
  }
  const judged = (await emit(boot)) ?? boot;
  for (const step of s.steps) {
    if (judged.status === 'pass') await emit({ type: 'step-ended', index: step.index, name: step.name, status: 'skip', reason: consoleSkipReason(step, kernel, caps), durationMs: 0 });
    else await emit({ type: 'step-ended', index: step.index, name: step.name, status: 'miss', reason: `boot ${judged.status === 'fail' ? 'failed' : 'errored'}`, durationMs: 0 });
  }
  if (shutdown) await emit(shutdown);
}

/** Why QEMU had to be stopped, or undefined when it ended by itself (a panic=-1 exit included). */
function whyStopped(w: WatchEnd, s: Scenario): string | undefined {
  switch (w.end) {
    case 'exited':
    case 'reached':
      return undefined;
    case 'panic':
      return w.exited ? undefined : 'kernel panic';
    case 'interrupted':
      return 'interrupted';
    case 'timeout':
      return `no power-off within ${formatDuration(s.timeouts.boot)}`;
    case 'silent':
      return `console silent for ${formatDuration(s.timeouts.silence)}`;
  }
}
