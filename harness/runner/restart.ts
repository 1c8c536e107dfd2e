/**
 * Reboots that start a new QEMU on the machine's RAM file and disk overlay.
 *
 * Power cycle: QEMU is killed without warning (a power cut), then restarted.
 *
 * Warm reboot under TCG: the guest resets itself (`sysrq b`, its own reboot
 * path), QEMU is told beforehand to end at a guest reset instead of resetting
 * in place (QMP `set-action reboot=shutdown`), and a new QEMU boots on the same
 * RAM file: to the guest the same as a reset in place (firmware runs again,
 * devices start fresh, RAM keeps its contents). Why not in place: QEMU 7.2's
 * TCG keeps the old kernel's translated code and the write protection of its
 * pages across a reset, so the next kernel's decompressor writes the new image
 * through TCG's slow path. Measured (docs/robustness.md, "Warm reboots under
 * TCG"): the kernel's first line 10–37 s after the reset in place (more than
 * 90 s after the quick suite, which made it fail) against 1.5 s in a new QEMU,
 * side by side in one data-integrity-modes case. Under KVM the reset stays in
 * place.
 */
import { appendFile } from 'node:fs/promises';
import { HarnessError } from '../common/errors.js';
import type { BootTimes } from '../model/results.js';
import type { Scenario } from '../scenario/load.js';
import { qmpSocketPath } from '../vm/private-dir.js';
import type { VmSpec } from '../vm/qemu-args.js';
import { bootGuest, BootFailure } from './boot.js';
import { launch, type Machine, type MachineEnv } from './machine.js';

/** The guest command of a warm reboot: its own reboot path, at once, after a sync. */
export const WARM_REBOOT_COMMAND = 'sync; echo 1 > /proc/sys/kernel/sysrq; echo b > /proc/sysrq-trigger';

/** How long a guest may take from `sysrq b` to the reset itself. */
const RESET_WAIT_MS = 30_000;

/** A warm reboot restarts QEMU (see the file comment) when it runs under TCG on a RAM file. */
export const restartsOnReset = (m: Machine): boolean => m.spec.accel === 'tcg' && !!m.spec.memoryFile;

/** Power-cycle: kill QEMU without warning, then a new one on the same RAM file and disk. */
export async function powerCycle(m: Machine, s: Scenario, env: MachineEnv, bootMs: number): Promise<BootTimes> {
  if (!m.spec.memoryFile) throw new HarnessError('infra', 'power-cycle needs `machine: { ramFile: true }`: without a RAM file the carve-out would not survive');
  await m.session.exec('sync', { timeoutMs: 10_000 }).catch(() => undefined);
  m.session.close();
  m.vm.killNow();
  await m.vm.waitExit(10_000);
  return restartOnSameFiles(m, s, env, bootMs, 'power cycle: QEMU killed, starting a new one on the same RAM file');
}

/**
 * Warm reboot under TCG: the guest resets itself, QEMU ends at the reset, a
 * new one boots on the same RAM file. A guest that does not reset within
 * 30 s is the kernel's failure (BootFailure 'fail').
 */
export async function warmRestart(m: Machine, s: Scenario, env: MachineEnv, bootMs: number): Promise<BootTimes> {
  await m.vm.endAtReset();
  await m.session.exec(WARM_REBOOT_COMMAND, { timeoutMs: 3000 }).catch(() => undefined);
  m.session.close();
  if (!(await m.vm.waitExit(RESET_WAIT_MS))) {
    throw new BootFailure('fail', `the guest did not reset within ${RESET_WAIT_MS / 1000} s of sysrq b`, [], m.vm.console.tail(40));
  }
  return restartOnSameFiles(m, s, env, bootMs, 'warm reboot: the guest reset; QEMU restarted on the same RAM file (TCG, docs/robustness.md)');
}

/** A new QEMU from the machine's spec — same RAM file and disk overlay — on a fresh port and control socket; the console log continues. */
async function restartOnSameFiles(m: Machine, s: Scenario, env: MachineEnv, bootMs: number, note: string): Promise<BootTimes> {
  await appendFile(m.consoleFile, `\n=== ramdax-harness: ${note} ===\n`).catch(() => undefined);
  const port = await env.fx.freePort();
  const spec: VmSpec = { ...m.spec, sshPort: port, qmpSocket: qmpSocketPath() };
  const vm = launch(spec, m.consoleFile, env, m.teardown, s.timeouts.teardown, (v, how) => {
    if (m.vm === v) m.stop = how;
  });
  Object.assign(m, { vm, spec, port });
  const { session, times } = await bootGuest(vm, {
    transport: env.fx.guest,
    port,
    deadlines: { bootMs, sshMs: s.timeouts.ssh, silenceMs: s.timeouts.silence },
    clock: env.fx.clock,
    interrupt: env.interrupt,
  });
  m.session = session;
  m.teardown.add(() => session.close());
  return times;
}
