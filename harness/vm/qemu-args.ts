/** QEMU command lines, built by small pure functions (unit-tested). */
import { serialConsole, type Arch } from '../common/arch.js';

export interface Disk {
  path: string;
  format: 'raw' | 'qcow2';
  /** Writes go to a temporary overlay and vanish: the cached image is never changed. */
  snapshot?: boolean;
  readonly?: boolean;
  /** Shown to the guest as /sys/block/vdX/serial. */
  serial?: string;
  /** Host caching: `none` bypasses the host page cache (O_DIRECT). */
  cache?: 'none' | 'writeback';
}

export interface VmSpec {
  binary: string;
  /** Guest architecture (default x86_64). */
  arch?: Arch;
  machine: 'pc' | 'q35' | 'virt';
  accel: 'tcg' | 'kvm';
  cpus: number;
  memoryBytes: number;
  kernel: string;
  initrd?: string;
  cmdline: string;
  /** arm64: the device tree the guest boots with (`-dtb`), written by the harness (vm/dtb.ts). */
  dtb?: string;
  disks: Disk[];
  sshPort: number;
  qmpSocket: string;
  /** End QEMU on guest reset/panic instead of rebooting. */
  noReboot: boolean;
  /** Guest RAM in this host file (shared mapping: it outlives QEMU). */
  memoryFile?: string;
  /** One NUMA node holding all RAM and CPUs (an SRAT for the guest). */
  numa?: boolean;
  /** TCG only: guest time counted in instructions, 2^icount ns each (`-icount shift=N`, single-threaded TCG). */
  icount?: number;
  /** TCG only: one host thread per vCPU (`multi`, the default) or one for all (`single`). */
  tcgThread?: 'multi' | 'single';
  /** The `-cpu` model; default `host` under KVM, `max` under TCG. */
  cpuModel?: string;
  /** `closed` (default): the guest reaches nothing, only the SSH forward reaches it; `open`: outbound NAT. */
  network?: 'closed' | 'open';
  /** Shown in `ps`: lets a person (or a test) find the QEMU of a run and case. */
  name?: string;
  /** QEMU appends the serial console to this file; without it, the console is QEMU's stdout. */
  consoleLog?: string;
}

/** Guest RAM as an explicit backend object (a host file, or plain RAM for a NUMA node). */
export function memoryArgs(s: Pick<VmSpec, 'memoryFile' | 'memoryBytes' | 'numa' | 'cpus'>): string[] {
  const backend = s.memoryFile
    ? `memory-backend-file,id=ram0,size=${s.memoryBytes},mem-path=${escapeOpt(s.memoryFile)},share=on`
    : s.numa
      ? `memory-backend-ram,id=ram0,size=${s.memoryBytes}`
      : undefined;
  if (!backend) return [];
  return ['-object', backend, ...(s.numa ? ['-numa', `node,nodeid=0,cpus=0-${s.cpus - 1},memdev=ram0`] : [])];
}

/**
 * The -machine value. arm64 virt under KVM takes the host's GIC version
 * (GICv3-only hosts cannot run the default GICv2); under TCG the default.
 */
export function machineOpt(s: Pick<VmSpec, 'machine' | 'accel' | 'memoryFile' | 'numa'>): string {
  const opts: string[] = [s.machine];
  if (s.machine === 'virt' && s.accel === 'kvm') opts.push('gic-version=host');
  if (s.memoryFile && !s.numa) opts.push('memory-backend=ram0');
  return opts.join(',');
}

export const machineArgs = (s: VmSpec): string[] => [
  '-machine', machineOpt(s),
  ...memoryArgs(s),
  ...accelArgs(s),
  '-cpu', s.cpuModel ?? (s.accel === 'kvm' ? 'host' : 'max'),
  '-smp', String(s.cpus),
  '-m', `${Math.floor(s.memoryBytes / 1024 ** 2)}M`,
];

/**
 * KVM, multi-threaded TCG, or — with icount — single-threaded TCG (QEMU does
 * not count instructions across parallel vCPU threads) whose guest clock
 * advances 2^shift ns per instruction; while the guest idles it follows the
 * host clock (QEMU's default sleep=on), so timers and SSH behave as usual.
 */
export function accelArgs(s: Pick<VmSpec, 'accel' | 'icount' | 'tcgThread'>): string[] {
  if (s.accel === 'kvm') return ['-accel', 'kvm'];
  if (s.icount === undefined) return ['-accel', `tcg,thread=${s.tcgThread ?? 'multi'}`];
  return ['-accel', 'tcg,thread=single', '-icount', `shift=${s.icount}`];
}

export const isolationArgs = (): string[] => ['-nodefaults', '-no-user-config', '-display', 'none'];

export const CONSOLE_STDIO = 'stdio,id=con0,signal=off';

/**
 * The serial console: appended by QEMU itself to a file the harness tails (it
 * survives a killed harness, and QEMU's byte-at-a-time serial writes do not
 * wake the harness per byte), or on QEMU's stdout when there is no file.
 */
export const consoleArgs = (logPath?: string): string[] => [
  '-chardev', logPath ? `file,id=con0,path=${escapeOpt(logPath)},append=on` : CONSOLE_STDIO,
  '-serial', 'chardev:con0',
];

/** Whether a recorded argv element is the console chardev (either form). */
export const isConsoleChardev = (a: string): boolean => a === CONSOLE_STDIO || a.startsWith('file,id=con0,');

export const bootArgs = (s: VmSpec): string[] => [
  '-kernel', s.kernel,
  ...(s.initrd ? ['-initrd', s.initrd] : []),
  ...(s.dtb ? ['-dtb', s.dtb] : []),
  '-append', s.cmdline,
];

/**
 * QEMU started only to write the device tree it generates for this machine
 * (`-machine virt,dumpdtb=FILE` exits at once): the same machine, CPU, SMP,
 * RAM size and NUMA shape as the boot, which is all the tree depends on; a
 * RAM file is left out (the tree does not depend on it, and the file would be created).
 */
export type DtbMachine = Pick<VmSpec, 'machine' | 'accel' | 'cpus' | 'memoryBytes' | 'numa' | 'icount'>;

export function dumpDtbArgv(s: DtbMachine, out: string): string[] {
  return [
    '-machine', `${machineOpt({ ...s, memoryFile: undefined })},dumpdtb=${escapeOpt(out)}`,
    ...memoryArgs({ ...s, memoryFile: undefined }),
    ...accelArgs(s),
    '-cpu', s.accel === 'kvm' ? 'host' : 'max',
    '-smp', String(s.cpus),
    '-m', `${Math.floor(s.memoryBytes / 1024 ** 2)}M`,
    ...isolationArgs(),
  ];
}

export function diskArgs(disks: Disk[]): string[] {
  return disks.flatMap((d, i) => {
    // QEMU 7.2 no longer takes serial= on -drive: a disk with a serial is a -drive if=none plus a virtio-blk device.
    const opts = [`file=${escapeOpt(d.path)}`, `format=${d.format}`, d.serial ? `if=none,id=disk${i}` : 'if=virtio'];
    if (d.snapshot) opts.push('snapshot=on');
    if (d.readonly) opts.push('readonly=on');
    if (d.cache) opts.push(`cache=${d.cache}`);
    // A late PCI slot keeps it after the root and modules disks (vda, vdb): the guest probes virtio in slot order.
    return ['-drive', opts.join(','), ...(d.serial ? ['-device', `virtio-blk-pci,drive=disk${i},serial=${escapeOpt(d.serial)},addr=0x${(0x18 + i).toString(16)}`] : [])];
  });
}

/**
 * User-mode networking; the guest's SSH is forwarded from 127.0.0.1 only.
 * `restrict=on` (unless the scenario opens the network) isolates the guest:
 * no connection out, not even to 10.0.2.2, which QEMU maps to the host's
 * own 127.0.0.1; forwarding rules still work.
 */
export const netArgs = (port: number, network: 'closed' | 'open' = 'closed'): string[] => [
  '-netdev', `user,id=net0,hostfwd=tcp:127.0.0.1:${port}-:22${network === 'closed' ? ',restrict=on' : ''}`,
  '-device', 'virtio-net-pci,netdev=net0',
];

export const controlArgs = (s: VmSpec): string[] => [
  '-qmp', `unix:${escapeOpt(s.qmpSocket)},server=on,wait=off`,
  ...(s.noReboot ? ['-no-reboot'] : []),
];

export function qemuArgv(s: VmSpec): string[] {
  return [
    ...(s.name ? ['-name', `guest=${escapeOpt(s.name)}`] : []),
    ...machineArgs(s),
    ...isolationArgs(),
    ...consoleArgs(s.consoleLog),
    ...bootArgs(s),
    ...diskArgs(s.disks),
    ...netArgs(s.sshPort, s.network),
    '-device', 'virtio-rng-pci',
    ...controlArgs(s),
  ];
}

/** QEMU option values double commas to mean a literal comma. */
export const escapeOpt = (v: string) => v.replaceAll(',', ',,');

/** The kernel command line the harness always sets, before the scenario's own arguments. */
export function baseCmdline(opts: { initrd: boolean; noReboot: boolean; arch?: Arch }): string[] {
  return [
    `console=${serialConsole(opts.arch ?? 'x86_64')},115200`,
    'root=/dev/vda',
    'rw',
    'init=/sbin/harness-init',
    // A panic ends QEMU (with -no-reboot) instead of hanging the run.
    opts.noReboot ? 'panic=-1' : 'panic=0',
    'printk.time=1',
    'random.trust_cpu=on',
  ];
}
