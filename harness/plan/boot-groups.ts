import type { Scenario } from '../scenario/load.js';
import { STEP_KINDS } from '../steps/registry.js';
import type { RebootMethod } from '../steps/types.js';

export interface PlannedBoot<C extends { id: string; scenario: Scenario }> {
  /** Identical for cases that may share one VM. */
  key: string;
  cases: C[];
}

/** How a scenario's steps reboot the guest (`reboot` steps, `fill` checkpoints). */
const rebootMethods = (s: Scenario): RebootMethod[] => s.steps.flatMap((st) => STEP_KINDS.get(st.kind)?.reboots?.(st.params) ?? []);

/** A scenario that reboots its guest needs QEMU to reset instead of exiting. */
export const needsReset = (s: Scenario): boolean => rebootMethods(s).length > 0;

/**
 * Guest RAM in a host file that outlives one QEMU: asked for (`machine.ramFile`,
 * which a power cycle needs), or implied by a warm reboot under TCG, where the
 * reset restarts QEMU on that file (runner/restart.ts says why).
 */
export const needsRamFile = (s: Scenario, accel: 'tcg' | 'kvm'): boolean => s.machine.ramFile || (accel === 'tcg' && rebootMethods(s).includes('warm'));

/** A scenario that kexecs needs its kernel handed to the guest (read-only disks found by serial, runner/machine.ts). */
export const needsKexec = (s: Scenario): boolean => rebootMethods(s).includes('kexec');

/**
 * What a boot depends on: kernel, image, machine, carve-outs, command line,
 * reset behaviour and deadlines. Two cases with the same key boot the same VM.
 */
export function bootKey(s: Scenario): string {
  return JSON.stringify([s.kernel, s.image, s.machine, s.memmap, s.cmdline, needsReset(s), needsKexec(s), s.timeouts.boot, s.timeouts.ssh, s.retries]);
}

/**
 * Group cases into boots. Cases share a boot only when their scenario says
 * `shareBoot: true` (its steps leave the device as they found it) and their
 * boot keys are equal; the order of first appearance is kept.
 */
export function planBoots<C extends { id: string; scenario: Scenario }>(cases: C[]): PlannedBoot<C>[] {
  const out: PlannedBoot<C>[] = [];
  const shared = new Map<string, PlannedBoot<C>>();
  for (const c of cases) {
    const key = bootKey(c.scenario);
    if (!c.scenario.shareBoot) {
      out.push({ key, cases: [c] });
      continue;
    }
    const g = shared.get(`${c.scenario.file}\0${key}`);
    if (g) g.cases.push(c);
    else {
      const ng = { key, cases: [c] };
      shared.set(`${c.scenario.file}\0${key}`, ng);
      out.push(ng);
    }
  }
  return out;
}
