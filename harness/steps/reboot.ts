import { z } from 'zod';
import { runBody, StepFailure } from './recorder.js';
import type { StepKind } from './types.js';

const Params = z
  .object({
    /** warm: `sysrq b` inside the same QEMU process — guest RAM (and so the carve-outs) keeps its contents. */
    method: z.literal('warm').default('warm'),
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
  summary: 'warm-reboot the guest in the same QEMU (RAM contents kept) and wait for SSH again',
  schema: Params as z.ZodType<Params, unknown>,
  shorthand: (method) => ({ method }),
  title: () => 'warm reboot (same QEMU, RAM kept)',
  run: (ctx) =>
    runBody(ctx, async (r) => {
      if (!ctx.reboot) throw new StepFailure('this runner cannot reboot guests');
      const t = await ctx.reboot(ctx.timeoutMs);
      r.details.secondBoot = t;
    }),
};
