import type { SshSession } from '../session/ssh.js';
import type { CommandResult } from '../steps/types.js';
import type { Finding } from '../triage/findings.js';
import type { QemuVm } from '../vm/qemu.js';

/** Rejects when QEMU exits or the run is interrupted, whichever comes first. */
export function gone(vm: QemuVm, interrupt: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    vm.exit.then((e) => reject(new Error(`QEMU exited (${e.exitCode ?? e.signal})`)));
    if (interrupt.aborted) reject(interrupt.reason);
    interrupt.addEventListener('abort', () => reject(interrupt.reason), { once: true });
  });
}

export async function responsive(session: SshSession): Promise<boolean> {
  try {
    return (await session.exec('true', { timeoutMs: 5000 })).exitCode === 0;
  } catch {
    return false;
  }
}

/** The kernel's taint mask and log, in one round trip. */
export async function readDmesg(session: SshSession): Promise<{ taint: number; lines: string[] } | undefined> {
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
 * boot: active namespaces, and mounts of pmem/dax devices.
 */
export const DEVICE_STATE_COMMAND =
  "ndctl list -N 2>/dev/null; echo '--- mounts'; awk '$1 ~ /^\\/dev\\/(pmem|dax)/ {print $1, $2, $3}' /proc/mounts";

export async function deviceState(session: SshSession): Promise<string | undefined> {
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

export function formatCommand(r: CommandResult): string {
  return `$ ${r.command}\n# exit=${r.exitCode ?? r.signal}${r.timedOut ? ' (timed out)' : ''} ${r.durationMs}ms\n${r.stdout}${r.stderr ? `# stderr:\n${r.stderr}` : ''}\n`;
}
