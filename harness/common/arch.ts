/** Guest architectures the harness boots (pure). */
export const ARCHES = ['x86_64', 'arm64'] as const;
export type Arch = (typeof ARCHES)[number];

/** The architecture of this host, in the harness's names (undefined for any other). */
export function hostArch(nodeArch: string = process.arch): Arch | undefined {
  return nodeArch === 'x64' ? 'x86_64' : nodeArch === 'arm64' ? 'arm64' : undefined;
}

/** Debian's name for it (dpkg --print-architecture). */
export const debArch = (a: Arch): string => (a === 'arm64' ? 'arm64' : 'amd64');

/** The QEMU system emulator that runs it. */
export const defaultQemuBinary = (a: Arch): string => (a === 'arm64' ? 'qemu-system-aarch64' : 'qemu-system-x86_64');

/** The serial console the guest kernel writes to: the 8250 UART on x86, the PL011 on arm64 `virt`. */
export const serialConsole = (a: Arch): string => (a === 'arm64' ? 'ttyAMA0' : 'ttyS0');

/** The kernel a scenario boots and the image it mounts when it names none. */
export const defaultKernelFor = (a: Arch): string => (a === 'arm64' ? 'debian-7.2-arm64' : 'debian-7.2');
export const defaultImageFor = (a: Arch): string => (a === 'arm64' ? 'default-arm64' : 'default');
