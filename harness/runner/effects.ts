import type { Arch } from '../common/arch.js';
import { execa } from 'execa';
import { systemClock, type Clock } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import { sshTransport, type GuestTransport } from '../session/ssh.js';
import type { KeyPaths } from '../setup/keys.js';
import { ensureProbeInitramfs } from '../setup/probe.js';
import { resolveAccel } from '../vm/accel.js';
import type { VmLauncher } from '../vm/handle.js';
import { startVmLifecycle } from '../vm/lifecycle.js';
import type { AccelDecision } from '../vm/kvm-probe.js';
import { freeLoopbackPort } from '../vm/ports.js';
import { launchQemu } from '../vm/qemu.js';

/**
 * Everything the runner does to the world besides its own files, passed in:
 * the real host in a run, fakes in unit tests (a VM that replays a recorded
 * console, a guest that answers commands from a script, a virtual clock).
 */
export interface Effects {
  clock: Clock;
  /** Start a VM. */
  vm: VmLauncher;
  /** Reach a booted guest. */
  guest: GuestTransport;
  /** A free 127.0.0.1 port for a VM's SSH forward. */
  freePort(): Promise<number>;
  /** KVM or TCG for this kernel on this host. */
  accel(vmlinuz: string, qemuBinary: string, arch?: Arch): Promise<AccelDecision>;
  /** The busybox initramfs of console-only boots. */
  probeInitramfs(cacheDir: string): Promise<string>;
  /** `qemu --version`'s first line, recorded with the run (`BINARY: not runnable` when it does not run). */
  qemuVersion(qemuBinary: string): Promise<string | undefined>;
  /** Before anything starts: reap what killed harness processes left (their QEMUs, RAM files, sockets), record this one's. */
  lifecycle(cacheDir: string, log: Pick<Logger, 'warn'>): Promise<void>;
}

/** The real host: QEMU processes, SSH with the harness keys, the system clock. */
export function hostEffects(keys: KeyPaths): Effects {
  return {
    clock: systemClock,
    vm: launchQemu,
    guest: sshTransport(keys),
    freePort: freeLoopbackPort,
    accel: resolveAccel,
    probeInitramfs: ensureProbeInitramfs,
    qemuVersion: (qemu) => execa(qemu, ['--version'], { reject: false }).then((r) => (r.exitCode === 0 ? String(r.stdout).split('\n')[0] : `${qemu}: not runnable`)),
    lifecycle: async (cacheDir, log) => void (await startVmLifecycle(cacheDir, log)),
  };
}
