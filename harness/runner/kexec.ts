import type { KernelArtifact } from '../setup/artifacts.js';
import type { Disk } from '../vm/qemu-args.js';

/**
 * A kexec reboot needs the kernel (and initrd) inside the guest: each is
 * attached read-only as a raw virtio disk, found in the guest by its serial.
 * (QEMU's fw_cfg would do too, but the guest reads it a byte per port I/O:
 * minutes under TCG.)
 */
export const KEXEC_SERIAL = { vmlinuz: 'kexec-vmlinuz', initrd: 'kexec-initrd' } as const;

export function kexecDisks(kernel: KernelArtifact): Disk[] {
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
