import { appendFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HarnessError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { needsKexec, needsRamFile, needsReset } from '../plan/boot-groups.js';
import type { BootTimes, CaseResult } from '../results/model.js';
import { formatMemmapArg } from '../scenario/memmap.js';
import type { Scenario } from '../scenario/load.js';
import { loadSshTarget, type SshSession } from '../session/ssh.js';
import { currentImage, currentKernel, type ImageArtifact, type KernelArtifact } from '../setup/artifacts.js';
import type { KeyPaths } from '../setup/keys.js';
import { resolveAccel } from '../vm/accel.js';
import { freeLoopbackPort } from '../vm/ports.js';
import { qmpSocketPath } from '../vm/private-dir.js';
import { baseCmdline, type VmSpec } from '../vm/qemu-args.js';
import { QemuVm, type StopMethod } from '../vm/qemu.js';
import { bootGuest, BootFailure } from './boot.js';
import { classifyBootFailure, decideRetry, type BootFailureKind, type ClassifiedFailure } from './boot-policy.js';
import { machineFiles, type MachineFiles } from './machine-files.js';
import type { Teardown } from './teardown.js';
import { createScratchDisks, removeScratchDisks } from '../perf/scratch-disks.js';
import type { Disk } from '../vm/qemu-args.js';
import { defaultQemuBinary, type Arch } from '../common/arch.js';
import { ensureDtb, type DtbArtifact } from '../vm/dtb.js';
import { planDtb } from '../vm/dtb-plan.js';

export interface MachineEnv {
  cacheDir: string;
  keys: KeyPaths;
  /** The x86_64 system emulator (`--qemu`). */
  qemuBinary: string;
  /** Emulators of other guest architectures (`--qemu-arm64`); default qemu-system-aarch64. */
  qemuBinaries?: Partial<Record<Arch, string>>;
  log: Logger;
  interrupt: AbortSignal;
  /** Try this host port first for the first VM's SSH forward (then free ones). */
  firstSshPort?: number;
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

export interface FailedBoot {
  attempt: number;
  status: string;
  /** emulator-flake, kernel or infra (boot-policy.ts). */
  kind?: BootFailureKind;
  reason: string;
  findings: string[];
}

/** Filled in while booting, so a failed boot still reports how far it got. */
export interface BootProgress {
  boot: BootTimes;
  argv?: string[];
  port?: number;
  failedBoots: FailedBoot[];
  stop?: StopMethod;
}

/** A booted guest: QEMU, its SSH session, and the kernel-log position steps continue from. */
export interface Machine {
  /** The case whose boot this is; cases sharing the boot name it in their results. */
  bootId: string;
  vm: QemuVm;
  session: SshSession;
  port: number;
  inputs: BootInputs;
  progress: BootProgress;
  /** How it was started; a power cycle starts the next QEMU from it. */
  spec: VmSpec;
  teardown: Teardown;
  consoleFile: string;
  dmesgSeen: number;
  taint?: number;
  /** The kernel has kmemleak (/sys/kernel/debug/kmemleak): scanned at the end of every case. */
  kmemleak?: boolean;
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
  const accel = await chooseAccel(s, kernel.vmlinuz, qemu);
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

async function chooseAccel(s: Scenario, vmlinuz: string, qemu: string): Promise<BootInputs['accel']> {
  // Instruction counting exists only in TCG: no KVM probe boot is needed.
  if (s.machine.icount !== undefined) return { accel: 'tcg', reason: `machine.icount: ${s.machine.icount} (guest time counted in instructions)` };
  const accel = await resolveAccel(vmlinuz, qemu, s.machine.arch);
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

/**
 * Start QEMU and wait for SSH, retrying a taken port and (per `retries.boot`)
 * a failed boot. Every VM's stop is registered in `teardown` before it starts.
 * Throws BootFailure or HarnessError; `progress` says how far it got.
 */
export async function startMachine(
  s: Scenario,
  inputs: BootInputs,
  o: { bootId: string; name: string; consoleFile: string; env: MachineEnv; teardown: Teardown; progress: BootProgress },
): Promise<Machine> {
  const { env, progress } = o;
  const target = await loadSshTarget(0, env.keys);
  const files = await machineFiles(s, inputs.image, o.teardown, needsRamFile(s, inputs.accel.accel));
  // machine.disks: empty sparse files in the case folder, removed after the VM stops.
  let scratch: Disk[] = [];
  o.teardown.add(() => removeScratchDisks(scratch));
  scratch = await createScratchDisks(dirname(o.consoleFile), s.machine.disks);
  let portRetries = 0;
  const history: ClassifiedFailure[] = [];
  for (let attempt = 1; ; attempt++) {
    const port = attempt === 1 && env.firstSshPort ? env.firstSshPort : await freeLoopbackPort();
    const spec = vmSpec(s, inputs, files, env, port, o.name, scratch);
    let vm: QemuVm | undefined;
    o.teardown.add(async () => {
      if (vm) progress.stop = await vm.stop(s.timeouts.teardown);
      await rm(spec.qmpSocket, { force: true });
    });
    vm = new QemuVm(spec, o.consoleFile);
    progress.argv = [spec.binary, ...vm.argv];
    progress.port = port;
    progress.boot = {};
    try {
      const session = await bootGuest(vm, { ...target, port }, { bootMs: s.timeouts.boot, sshMs: s.timeouts.ssh, silenceMs: s.timeouts.silence }, progress.boot, env.interrupt);
      o.teardown.add(() => session.close());
      return { bootId: o.bootId, vm, session, port, inputs, progress, spec, teardown: o.teardown, consoleFile: o.consoleFile, dmesgSeen: 0 };
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
          initStarted: progress.boot.initStartedMs !== undefined,
          accel: inputs.accel.accel,
          tcgThread: spec.icount !== undefined ? 'single' : (spec.tcgThread ?? 'multi'),
        });
        const decision = decideRetry(history, now, s.retries.boot);
        if (decision.retry) {
          history.push(now);
          progress.failedBoots.push({ attempt, status: now.status, kind: now.kind, reason: now.reason, findings: err.findings.map((f) => f.title) });
          env.log.warn(`${o.bootId}: boot attempt ${attempt} failed (${now.kind}: ${err.message}); retrying (retries.boot: ${s.retries.boot})`);
          await vm.stop(0);
          await appendFile(o.consoleFile, `\n=== ramdax-harness: boot attempt ${attempt} failed: ${err.message}; attempt ${attempt + 1} follows ===\n`).catch(() => undefined);
          continue;
        }
        const earlier = progress.failedBoots.length ? ` (also failed on ${progress.failedBoots.length} earlier attempt(s): ${progress.failedBoots.map((b) => b.reason).join('; ')})` : '';
        throw new BootFailure(decision.status, `${decision.reason}${earlier}`, err.findings, err.consoleTail);
      }
      throw err;
    }
  }
}

/**
 * A kexec reboot needs the kernel (and initrd) inside the guest: each is
 * attached read-only as a raw virtio disk, found in the guest by its serial.
 * (QEMU's fw_cfg would do too, but the guest reads it a byte per port I/O:
 * minutes under TCG.)
 */
export const KEXEC_SERIAL = { vmlinuz: 'kexec-vmlinuz', initrd: 'kexec-initrd' } as const;

function kexecDisks(kernel: KernelArtifact): Disk[] {
  return [
    { path: kernel.vmlinuz, format: 'raw', readonly: true, serial: KEXEC_SERIAL.vmlinuz },
    ...(kernel.initrd ? [{ path: kernel.initrd, format: 'raw' as const, readonly: true, serial: KEXEC_SERIAL.initrd }] : []),
  ];
}

/**
 * The guest side of a kexec reboot, as one shell script: copy the kernel (and
 * initrd) from the disks with those serials (padded to 512 bytes: harmless for
 * both), load them with the running command line. `kexec -e` is sent
 * separately: it never returns.
 */
export function kexecLoadScript(withInitrd: boolean): string {
  const copy = (serial: string, to: string) =>
    `for b in /sys/block/vd*; do if [ "$(cat "$b/serial" 2>/dev/null)" = ${serial} ]; then cat "/dev/$(basename "$b")" > ${to}; fi; done; test -s ${to}`;
  return [
    'set -e',
    'command -v kexec >/dev/null || { echo "kexec-tools is not in the guest image" >&2; exit 127; }',
    'rm -f /tmp/kexec-vmlinuz /tmp/kexec-initrd',
    copy(KEXEC_SERIAL.vmlinuz, '/tmp/kexec-vmlinuz'),
    ...(withInitrd ? [copy(KEXEC_SERIAL.initrd, '/tmp/kexec-initrd')] : []),
    // kexec_file_load first: the kernel puts the new kernel where it knows RAM is. kexec_load
    // places it by /sys/firmware/memmap, which does not know memmap=! carve-outs (it loaded
    // the kernel into the top of one); only a kernel without KEXEC_FILE gets that, with a warning.
    `set -- /tmp/kexec-vmlinuz ${withInitrd ? '--initrd=/tmp/kexec-initrd ' : ''}--reuse-cmdline`,
    'if ! kexec -s -l "$@"; then',
    '  echo "kexec_file_load failed; falling back to kexec_load, which places the kernel by /sys/firmware/memmap and can overwrite a memmap= carve-out" >&2',
    '  kexec -l "$@"',
    'fi',
    'sync',
  ].join('\n');
}
