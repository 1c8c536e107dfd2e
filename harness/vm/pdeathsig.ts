/**
 * QEMU dies with the harness, whatever kills the harness: QEMU is started
 * through util-linux's `setpriv --pdeathsig KILL`, which sets
 * PR_SET_PDEATHSIG and then execs QEMU (same pid; the setting survives exec).
 * The kernel sends SIGKILL when the thread that forked QEMU ends — in node
 * that is the main thread (child_process spawns from the event loop), so:
 * when the harness process ends, by any signal or the OOM killer.
 */
import { accessSync, constants } from 'node:fs';

const CANDIDATES = ['/usr/bin/setpriv', '/bin/setpriv'];
let setpriv: string | null | undefined;

/** The setpriv binary (util-linux, essential on Debian), or null when this host has none. */
export function setprivPath(): string | null {
  if (setpriv !== undefined) return setpriv;
  setpriv = CANDIDATES.find((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  }) ?? null;
  return setpriv;
}

/** `file args` wrapped so that the process gets SIGKILL when this process dies (unwrapped without setpriv). */
export function withParentDeathSignal(file: string, args: readonly string[]): { file: string; args: string[]; guarded: boolean } {
  const sp = setprivPath();
  return sp ? { file: sp, args: ['--pdeathsig', 'KILL', '--', file, ...args], guarded: true } : { file, args: [...args], guarded: false };
}
