import type { Finding } from '../model/findings.js';
import type { GuestSession } from '../model/guest.js';
import type { VmHandle } from '../vm/handle.js';

/**
 * `work`, unless QEMU exits or the run is interrupted first (then it rejects).
 * The abort listener is removed afterwards: one command, one listener, gone again.
 */
export async function unlessGone<T>(work: Promise<T>, vm: VmHandle, interrupt: AbortSignal): Promise<T> {
  let onAbort: (() => void) | undefined;
  const gone = new Promise<never>((_, reject) => {
    vm.exit.then((e) => reject(new Error(`QEMU exited (${e.exitCode ?? e.signal})`)));
    if (interrupt.aborted) reject(interrupt.reason);
    onAbort = () => reject(interrupt.reason);
    interrupt.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, gone]);
  } finally {
    interrupt.removeEventListener('abort', onAbort!);
  }
}

export async function responsive(session: GuestSession): Promise<boolean> {
  try {
    return (await session.exec('true', { timeoutMs: 5000 })).exitCode === 0;
  } catch {
    return false;
  }
}

/** The kernel's taint mask and log, in one round trip. */
export async function readDmesg(session: GuestSession): Promise<{ taint: number; lines: string[] } | undefined> {
  try {
    const r = await session.exec('cat /proc/sys/kernel/tainted; dmesg', { timeoutMs: 15_000 });
    if (r.exitCode !== 0) return undefined;
    const [first, ...rest] = r.stdout.replace(/\n$/, '').split('\n');
    return { taint: Number(first), lines: rest };
  } catch {
    return undefined;
  }
}

/**
 * What a case may change and must put back before the next case shares its
 * boot: active namespaces on the ramdax bus, and mounts of pmem/dax devices.
 * (Only ramdax's: a built-in e820 driver makes a label-less namespace at boot
 * that the first case's `ramdax` step takes away — a rebinding every case does
 * the same way, not something left behind.)
 */
export const DEVICE_STATE_COMMAND =
  "ndctl list -N -b ramdax 2>/dev/null; echo '--- mounts'; awk '$1 ~ /^\\/dev\\/(pmem|dax)/ {print $1, $2, $3}' /proc/mounts";

export async function deviceState(session: GuestSession): Promise<string | undefined> {
  try {
    const r = await session.exec(DEVICE_STATE_COMMAND, { timeoutMs: 15_000 });
    return r.exitCode === 0 ? r.stdout.trim() : undefined;
  } catch {
    return undefined;
  }
}

export function mergeFindings(a: Finding[], b: Finding[]): Finding[] {
  const seen = new Set(a.map((f) => f.title));
  return [...a, ...b.filter((f) => !seen.has(f.title))];
}
