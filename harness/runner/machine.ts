import { appendFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HarnessError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { CaseEventBody, FailedBoot } from '../model/events.js';
import type { GuestSession } from '../model/guest.js';
import type { BootTimes, CaseResult } from '../model/results.js';
import { needsKexec, needsRamFile, needsReset } from '../plan/boot-groups.js';
import { formatMemmapArg } from '../scenario/memmap.js';
import type { Scenario } from '../scenario/load.js';
import { currentImage, currentKernel, type ImageArtifact, type KernelArtifact } from '../setup/artifacts.js';
import type { VmHandle, StopMethod } from '../vm/handle.js';
import { qmpSocketPath } from '../vm/private-dir.js';
import { baseCmdline, type Disk, type VmSpec } from '../vm/qemu-args.js';
import { bootGuest, BootFailure } from './boot.js';
import { classifyBootFailure, decideRetry, type ClassifiedFailure } from './boot-policy.js';
import { kexecDisks } from './kexec.js';
import type { Effects } from './effects.js';
import { machineFiles, type MachineFiles } from './machine-files.js';
import type { Teardown } from './teardown.js';
import { createScratchDisks, removeScratchDisks } from '../perf/scratch-disks.js';
import { defaultQemuBinary, type Arch } from '../common/arch.js';
import { ensureDtb, type DtbArtifact } from '../vm/dtb.js';
import { planDtb } from '../vm/dtb-plan.js';

export interface MachineEnv {
  cacheDir: string;
  /** The x86_64 system emulator (`--qemu`). */
  qemuBinary: string;
  /** Emulators of other guest architectures (`--qemu-arm64`); default qemu-system-aarch64. */
  qemuBinaries?: Partial<Record<Arch, string>>;
  log: Logger;
  interrupt: AbortSignal;
  /** Try this host port first for the first VM's SSH forward (then free ones). */
  firstSshPort?: number;
  /** The host (or the fakes of a unit test). */
  fx: Effects;
  /** `run --coverage`: save the guest's gcov counters before every power-off, reboot and shared-boot hand-over (harness/coverage/). */
  coverage?: boolean;
}

/** The QEMU system emulator for a guest architecture. */
export function qemuFor(env: Pick<MachineEnv, 'qemuBinary' | 'qemuBinaries'>, arch: Arch): string {
  return arch === 'x86_64' ? env.qemuBinary : env.qemuBinaries?.[arch] ?? defaultQemuBinary(arch);
}

/** What a boot is made of, resolved before QEMU starts. */
export interface BootInputs {
  kernel: KernelArtifact;
  image: ImageArtifact;
  accel: { accel: 'kvm' | 'tcg'; reason: string };
  cmdline: string;
  noReboot: boolean;
  qemu: string;
  /** arm64: the device tree with the carve-outs as pmem-region nodes. */
  dtb?: DtbArtifact;
}

/** A booted guest: QEMU, its guest session, and the kernel-log position steps continue from. */
export interface Machine {
  /** The case whose boot this is; cases sharing the boot name it in their results. */
  bootId: string;
  vm: VmHandle;
  session: GuestSession;
  port: number;
  inputs: BootInputs;
  /** The first QEMU's command line (a power cycle starts another from the same spec). */
  argv: string[];
  /** How it was started; a power cycle starts the next QEMU from it. */
  spec: VmSpec;
  teardown: Teardown;
  consoleFile: string;
  dmesgSeen: number;
  taint?: number;
  /** How the last QEMU ended (set when the teardown stops it). */
  stop?: StopMethod;
  /** Boot attempts that failed before this one worked. */
  failedBoots: FailedBoot[];
  /** The kernel has kmemleak (/sys/kernel/debug/kmemleak): scanned at the end of every case. */
  kmemleak?: boolean;
}

/** A boot that failed on every attempt: the last failure, and the attempts before it. */
export class MachineBootFailure extends BootFailure {
  constructor(
    last: BootFailure,
    readonly failedAttempts: FailedBoot[],
  ) {
    super(last.status, last.message, last.findings, last.consoleTail, last.portInUse);
  }
}

const PORT_RETRIES = 3;

/** The machine as a case records it: compare pairs runs only on the same shape and clock. */
export function machineRecord(m: Scenario['machine']): NonNullable<CaseResult['machine']> {
  return { arch: m.arch, type: m.type, cpus: m.cpus, memoryBytes: m.memory, ...(m.icount !== undefined ? { icount: m.icount } : {}) };
}

export async function prepareBoot(s: Scenario, env: MachineEnv): Promise<BootInputs> {
  const arch = s.machine.arch;
  const kernel = await currentKernel(env.cacheDir, s.kernel, arch);
  const image = await currentImage(env.cacheDir, s.image, arch);
  const noReboot = !needsReset(s);
  const qemu = qemuFor(env, arch);
  const accel = await chooseAccel(s, kernel.vmlinuz, qemu, env);
  // x86: carve-outs are memmap= arguments. arm64 has no memmap=: they are in the device tree.
  const carveArgs = arch === 'x86_64' ? s.memmap.map(formatMemmapArg) : [];
  const cmdline = [...baseCmdline({ initrd: !!kernel.initrd, noReboot, arch }), ...carveArgs, ...s.cmdline].join(' ');
  const dtb =
    arch === 'arm64'
      ? await ensureDtb({
          cacheDir: env.cacheDir,
          qemu,
          machine: { machine: s.machine.type, accel: accel.accel, cpus: s.machine.cpus, memoryBytes: s.machine.memory, numa: s.machine.numa, icount: s.machine.icount },
          plan: planDtb(s.memmap, s.machine.memory, s.machine.carveOut).plan,
        })
      : undefined;
  return { kernel, image, accel, cmdline, noReboot, qemu, dtb };
}

async function chooseAccel(s: Scenario, vmlinuz: string, qemu: string, env: MachineEnv): Promise<BootInputs['accel']> {
  // Instruction counting exists only in TCG: no KVM probe boot is needed.
  if (s.machine.icount !== undefined) return { accel: 'tcg', reason: `machine.icount: ${s.machine.icount} (guest time counted in instructions)` };
  const accel = await env.fx.accel(vmlinuz, qemu, s.machine.arch);
  if (s.machine.accel === 'kvm' && accel.accel !== 'kvm') throw new HarnessError('infra', `scenario requires KVM: ${accel.reason}`);
  return { accel: s.machine.accel === 'tcg' ? 'tcg' : accel.accel, reason: accel.reason };
}

export function vmSpec(s: Scenario, inputs: BootInputs, files: MachineFiles, env: MachineEnv, port: number, name: string, scratch: Disk[] = []): VmSpec {
  const { kernel } = inputs;
  return {
    binary: inputs.qemu,
    arch: s.machine.arch,
    machine: s.machine.type,
    accel: inputs.accel.accel,
    cpus: s.machine.cpus,
    memoryBytes: s.machine.memory,
    kernel: kernel.vmlinuz,
    initrd: kernel.initrd,
    cmdline: inputs.cmdline,
    dtb: inputs.dtb?.path,
    disks: [
      files.root,
      ...(kernel.modulesDisk ? [{ path: kernel.modulesDisk, format: 'raw' as const, readonly: true }] : []),
      ...scratch,
      ...(needsKexec(s) ? kexecDisks(kernel) : []),
    ],
    sshPort: port,
    // In this process's private 0700 folder (short: socket paths are limited to 107 bytes).
    qmpSocket: qmpSocketPath(),
    noReboot: inputs.noReboot,
    memoryFile: files.memoryFile,
    numa: s.machine.numa,
    icount: s.machine.icount,
    network: s.machine.network,
    name,
  };
}

/** Start a VM whose stop is registered in `teardown` first; `stopped` hears how it ended. */
export function launch(spec: VmSpec, consoleFile: string, env: MachineEnv, teardown: Teardown, graceMs: number, stopped: (vm: VmHandle, how: StopMethod) => void): VmHandle {
  let vm: VmHandle | undefined;
  teardown.add(async () => {
    if (vm) stopped(vm, await vm.stop(graceMs));
  });
  vm = env.fx.vm(spec, consoleFile);
  return vm;
}

/**
 * Start QEMU and wait for the guest, retrying a taken port and (per
 * `retries.boot`) a failed boot. Emits boot-started for every QEMU it starts
 * and each milestone reached; every VM's stop is registered in `teardown`
 * before it starts. Throws BootFailure (MachineBootFailure after retries) or
 * HarnessError.
 */
export async function startMachine(
  s: Scenario,
  inputs: BootInputs,
  o: { bootId: string; name: string; consoleFile: string; env: MachineEnv; teardown: Teardown; emit: (e: CaseEventBody) => Promise<unknown> },
): Promise<Machine> {
  const { env } = o;
  await env.fx.guest.prepare();
  const files = await machineFiles(s, inputs.image, o.teardown, needsRamFile(s, inputs.accel.accel));
  // machine.disks: empty sparse files in the case folder, removed after the VM stops.
  let scratch: Disk[] = [];
  o.teardown.add(() => removeScratchDisks(scratch));
  scratch = await createScratchDisks(dirname(o.consoleFile), s.machine.disks);
  const failed: FailedBoot[] = [];
  let machine: Machine | undefined;
  // Only the QEMU the machine runs on says how the machine stopped (earlier attempts' QEMUs are long gone).
  const stopped = (vm: VmHandle, how: StopMethod) => {
    if (machine?.vm === vm) machine.stop = how;
  };
  let portRetries = 0;
  const history: ClassifiedFailure[] = [];
  for (let attempt = 1; ; attempt++) {
    // The stages this attempt reached (the boot policy asks whether init started).
    const reached: BootTimes = {};
    const port = attempt === 1 && env.firstSshPort ? env.firstSshPort : await env.fx.freePort();
    const spec = vmSpec(s, inputs, files, env, port, o.name, scratch);
    const vm = launch(spec, o.consoleFile, env, o.teardown, s.timeouts.teardown, stopped);
    await o.emit({ type: 'boot-started', attempt, argv: [spec.binary, ...vm.argv], sshPort: port });
    try {
      const { session } = await bootGuest(vm, {
        transport: env.fx.guest,
        port,
        deadlines: { bootMs: s.timeouts.boot, sshMs: s.timeouts.ssh, silenceMs: s.timeouts.silence },
        clock: env.fx.clock,
        interrupt: env.interrupt,
        onMilestone: (name, ms) => {
          reached[name] = ms;
          void o.emit({ type: 'milestone', name, ms });
        },
      });
      o.teardown.add(() => session.close());
      machine = { bootId: o.bootId, vm, session, port, inputs, argv: [spec.binary, ...vm.argv], spec, teardown: o.teardown, consoleFile: o.consoleFile, dmesgSeen: 0, failedBoots: failed };
      return machine;
    } catch (err) {
      if (err instanceof BootFailure && err.portInUse && portRetries++ < PORT_RETRIES) {
        env.log.warn(`${o.bootId}: SSH port ${port} was taken, retrying with another`);
        continue;
      }
      // Boot retry policy (boot-policy.ts): a boot that fails and then works is reported as flaky, not hidden;
      // a failure that repeats is the kernel's and ends the retries; an early int3 under MTTCG is the emulator's.
      if (err instanceof BootFailure && err.message !== 'interrupted' && !env.interrupt.aborted) {
        const now = classifyBootFailure({
          status: err.status,
          reason: err.message,
          findings: err.findings,
          initStarted: reached.initStartedMs !== undefined,
          accel: inputs.accel.accel,
          tcgThread: spec.icount !== undefined ? 'single' : (spec.tcgThread ?? 'multi'),
        });
        const decision = decideRetry(history, now, s.retries.boot);
        if (decision.retry) {
          history.push(now);
          failed.push({ attempt, status: now.status, kind: now.kind, reason: now.reason, findings: err.findings.map((f) => f.title) });
          env.log.warn(`${o.bootId}: boot attempt ${attempt} failed (${now.kind}: ${err.message}); retrying (retries.boot: ${s.retries.boot})`);
          await vm.stop(0);
          await appendFile(o.consoleFile, `\n=== ramdax-harness: boot attempt ${attempt} failed: ${err.message}; attempt ${attempt + 1} follows ===\n`).catch(() => undefined);
          continue;
        }
        const earlier = failed.length ? ` (also failed on ${failed.length} earlier attempt(s): ${failed.map((b) => b.reason).join('; ')})` : '';
        throw new MachineBootFailure(new BootFailure(decision.status, `${decision.reason}${earlier}`, err.findings, err.consoleTail), failed);
      }
      throw err;
    }
  }
}
