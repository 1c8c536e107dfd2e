import { z } from 'zod';
import { runBody, StepFailure } from './recorder.js';
import type { StepKind } from './types.js';

const Params = z
  .object({
    /**
     * warm: `sysrq b`, the guest's own reset — guest RAM (and so the carve-outs) keeps its contents.
     * Under KVM QEMU resets in place; under TCG QEMU ends at the reset and a new one boots on the
     * same RAM file (implied; runner/restart.ts says why).
     * power-cycle: QEMU is killed (a power cut) and a new one starts on the same RAM file and disk
     * (needs `machine: { ramFile: true }`), as a power cycle of real persistent memory.
     * kexec: the guest loads the same kernel and initrd (attached as read-only disks it finds by serial) with
     * its own command line and jumps into it (needs kexec-tools in the image).
     */
    method: z.enum(['warm', 'power-cycle', 'kexec']).default('warm'),
  })
  .strict();
type Params = z.output<typeof Params>;

/**
 * Reboot the guest without losing RAM: the label-persistence tests write
 * namespaces and data, reboot, rebind ramdax and check they came back.
 * A scenario with a reboot step runs QEMU without -no-reboot (a panic then
 * reboots the guest instead of ending QEMU; the console still shows it).
 */
export const rebootStep: StepKind<Params> = {
  kind: 'reboot',
  summary: 'reboot the guest (warm: its own reset; power-cycle; kexec), RAM contents kept, and wait for SSH again',
  schema: Params as z.ZodType<Params, unknown>,
  shorthand: (method) => ({ method }),
  reboots: (p) => [p?.method ?? 'warm'],
  title: (p) =>
    ({ warm: 'warm reboot (guest reset, RAM kept)', 'power-cycle': 'power cycle (QEMU killed and restarted on the same RAM file)', kexec: 'kexec into the same kernel (RAM kept)' })[p.method],
  run: (ctx, p) =>
    runBody(ctx, async (r) => {
      if (!ctx.reboot) throw new StepFailure('this runner cannot reboot guests');
      const t = await ctx.reboot(ctx.timeoutMs, p.method);
      r.details.secondBoot = t;
    }),
};
