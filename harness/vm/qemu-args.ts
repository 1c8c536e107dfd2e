/** QEMU command lines, built by small pure functions (unit-tested). */

export interface Disk {
  path: string;
  format: 'raw' | 'qcow2';
  /** Writes go to a temporary overlay and vanish: the cached image is never changed. */
  snapshot?: boolean;
  readonly?: boolean;
}

export interface VmSpec {
  binary: string;
  machine: 'pc' | 'q35';
  accel: 'tcg' | 'kvm';
  cpus: number;
  memoryBytes: number;
  kernel: string;
  initrd?: string;
  cmdline: string;
  disks: Disk[];
  sshPort: number;
  qmpSocket: string;
  /** End QEMU on guest reset/panic instead of rebooting. */
  noReboot: boolean;
  /** Guest RAM in this host file (shared mapping: it outlives QEMU). */
  memoryFile?: string;
  /** Shown in `ps`: lets a person (or a test) find the QEMU of a run and case. */
  name?: string;
}

export const machineArgs = (s: VmSpec): string[] => [
  '-machine', s.memoryFile ? `${s.machine},memory-backend=ram0` : s.machine,
  ...(s.memoryFile ? ['-object', `memory-backend-file,id=ram0,size=${s.memoryBytes},mem-path=${escapeOpt(s.memoryFile)},share=on`] : []),
  '-accel', s.accel === 'tcg' ? 'tcg,thread=multi' : 'kvm',
  '-cpu', s.accel === 'kvm' ? 'host' : 'max',
  '-smp', String(s.cpus),
  '-m', `${Math.floor(s.memoryBytes / 1024 ** 2)}M`,
];

export const isolationArgs = (): string[] => ['-nodefaults', '-no-user-config', '-display', 'none'];

/** The serial console on QEMU's stdout, where the harness reads it as a stream. */
export const consoleArgs = (): string[] => ['-chardev', 'stdio,id=con0,signal=off', '-serial', 'chardev:con0'];

export const bootArgs = (s: VmSpec): string[] => [
  '-kernel', s.kernel,
  ...(s.initrd ? ['-initrd', s.initrd] : []),
  '-append', s.cmdline,
];

export function diskArgs(disks: Disk[]): string[] {
  return disks.flatMap((d) => {
    const opts = [`file=${escapeOpt(d.path)}`, `format=${d.format}`, 'if=virtio'];
    if (d.snapshot) opts.push('snapshot=on');
    if (d.readonly) opts.push('readonly=on');
    return ['-drive', opts.join(',')];
  });
}

/** User-mode networking; the guest's SSH is forwarded from 127.0.0.1 only. */
export const netArgs = (port: number): string[] => [
  '-netdev', `user,id=net0,hostfwd=tcp:127.0.0.1:${port}-:22`,
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
    ...consoleArgs(),
    ...bootArgs(s),
    ...diskArgs(s.disks),
    ...netArgs(s.sshPort),
    '-device', 'virtio-rng-pci',
    ...controlArgs(s),
  ];
}

/** QEMU option values double commas to mean a literal comma. */
export const escapeOpt = (v: string) => v.replaceAll(',', ',,');

/** The kernel command line the harness always sets, before the scenario's own arguments. */
export function baseCmdline(opts: { initrd: boolean; noReboot: boolean }): string[] {
  return [
    'console=ttyS0,115200',
    'root=/dev/vda',
    'rw',
    'init=/sbin/harness-init',
    // A panic ends QEMU (with -no-reboot) instead of hanging the run.
    opts.noReboot ? 'panic=-1' : 'panic=0',
    'printk.time=1',
    'random.trust_cpu=on',
  ];
}
