import { chmod, copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { infraError } from '../common/errors.js';
import { host } from '../common/exec.js';
import { exists } from '../common/fs.js';
import { sha256 } from '../common/hash.js';
import { projectRoot } from '../common/paths.js';
import { freeLoopbackPort } from '../vm/ports.js';
import { qmpSocketPath } from '../vm/private-dir.js';
import type { VmSpec } from '../vm/qemu-args.js';
import { QemuVm } from '../vm/qemu.js';
import { PROBE_MARKERS, watchBoot } from '../vm/boot-watch.js';
import { systemClock } from '../common/clock.js';
import { parseProbeOutput, type ProbeReport } from './capabilities.js';
import { packNewc } from './initramfs.js';

export const PROBE_INIT = join(projectRoot, 'images/guest/probe-init.sh');
const BUSYBOX = '/bin/busybox';

/** The busybox-only initramfs whose /init reports what the kernel offers and powers off (kernel-independent, cached by content). */
export async function ensureProbeInitramfs(cacheDir: string): Promise<string> {
  const script = await readFile(PROBE_INIT);
  const bb = await readFile(BUSYBOX).catch((err) => {
    throw infraError(`cannot read ${BUSYBOX} (is busybox-static installed?)`, err, 'run `npx ramdax-harness setup`');
  });
  const out = join(cacheDir, 'probe', `initramfs-${sha256(script, bb).slice(0, 12)}.img`);
  if (await exists(out)) return out;
  const work = `${out}.d-${process.pid}`;
  await rm(work, { recursive: true, force: true });
  for (const d of ['bin', 'dev', 'proc', 'sys']) await mkdir(join(work, d), { recursive: true });
  await copyFile(BUSYBOX, join(work, 'bin/busybox'));
  await chmod(join(work, 'bin/busybox'), 0o755);
  await copyFile(PROBE_INIT, join(work, 'init'));
  await chmod(join(work, 'init'), 0o755);
  const tmp = `${out}.tmp-${process.pid}`;
  await packNewc(work, tmp);
  await host('mv', ['-f', tmp, out]);
  await rm(work, { recursive: true, force: true });
  return out;
}

/** The kernel command line of a console-only boot: serial console, a panic ends QEMU, the initramfs's /init runs. */
export function consoleCmdline(extra: string[]): string {
  return ['console=ttyS0,115200', 'panic=-1', 'printk.time=1', 'rdinit=/init', ...extra].join(' ');
}

/** A VM spec for a console-only boot: no disks; the NIC is there but unused (no driver needed; `sshPort` is never answered). */
export function consoleVmSpec(o: { qemu: string; vmlinuz: string; initrd: string; cmdline: string; memoryBytes: number; cpus: number; machine: 'pc' | 'q35'; name: string; icount?: number; sshPort: number }): VmSpec {
  return {
    binary: o.qemu,
    machine: o.machine,
    accel: 'tcg',
    cpus: o.cpus,
    memoryBytes: o.memoryBytes,
    kernel: o.vmlinuz,
    initrd: o.initrd,
    cmdline: o.cmdline,
    disks: [],
    sshPort: o.sshPort,
    qmpSocket: qmpSocketPath(),
    noReboot: true,
    icount: o.icount,
    name: o.name,
  };
}

export interface ProbeRun {
  report: ProbeReport;
  wallMs: number;
  exit: { exitCode?: number; signal?: string; stop: string };
  consoleTail: string;
}

/** Boot `vmlinuz` once with the probe initramfs and a small carve-out; read its report. Never hangs (deadline). */
export async function probeKernel(o: { vmlinuz: string; cacheDir: string; qemu: string; deadlineMs?: number; consoleLog?: string }): Promise<ProbeRun> {
  const initrd = await ensureProbeInitramfs(o.cacheDir);
  const spec = consoleVmSpec({
    qemu: o.qemu,
    vmlinuz: o.vmlinuz,
    initrd,
    cmdline: consoleCmdline(['memmap=64M!512M']),
    memoryBytes: 1024 ** 3,
    cpus: 1,
    machine: 'pc',
    name: 'ramdax-harness:kernel-probe',
    sshPort: await freeLoopbackPort(),
  });
  const vm = QemuVm.start(spec, o.consoleLog);
  const deadlineMs = o.deadlineMs ?? 90_000;
  // The same watcher as every boot: a panic (panic=-1 ends QEMU) or the deadline ends the wait.
  const w = await watchBoot(vm, { markers: PROBE_MARKERS, deadlineMs, silenceMs: deadlineMs, panicGraceMs: 3000, clock: systemClock });
  const exited = w.end === 'exited' || (w.end === 'panic' && w.exited);
  const stop = exited ? 'exited' : await vm.stop(0);
  const ex = await vm.exit;
  const text = vm.console.linesFrom(0).map((l) => l.text).join('\n');
  return { report: parseProbeOutput(text), wallMs: Date.now() - vm.startedAt, exit: { exitCode: ex.exitCode, signal: ex.signal, stop }, consoleTail: vm.console.tail(30) };
}
