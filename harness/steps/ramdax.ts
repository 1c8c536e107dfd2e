import { z } from 'zod';
import { asArray } from './ndctl.js';
import { bindE820, impossibleSizes, PROVIDER, readBus } from './bind.js';
import { runBody, StepSkip } from './recorder.js';
import type { StepKind } from './types.js';

const Params = z
  .object({
    /** Which driver binds the e820_pmem device: ramdax (labels) or nd_e820 (the label-less control). */
    driver: z.enum(['ramdax', 'nd_e820']).default('ramdax'),
    /** Unbind and bind again when the driver already holds the device: namespaces come back from the labels. */
    rebind: z.boolean().default(false),
    expect: z
      .object({
        dimms: z.number().int().min(0).max(512).optional(),
        regions: z.number().int().min(0).max(512).optional(),
      })
      .strict()
      .default({}),
  })
  .strict();
type Params = z.output<typeof Params>;

/**
 * Bind the e820_pmem platform device to the chosen driver (driver_override,
 * unbind from whoever holds it, bind), then check what ndctl sees.
 */
export const ramdaxStep: StepKind<Params> = {
  kind: 'ramdax',
  summary: 'bind the legacy-PMEM device to ramdax (or nd_e820) and check bus, DIMMs and regions',
  schema: Params as z.ZodType<Params, unknown>,
  title: (p) => `${p.rebind ? 'rebind' : 'bind'} e820_pmem to ${p.driver}`,
  run: (ctx, p) =>
    runBody(ctx, async (r) => {
      if (p.driver === 'ramdax' && ctx.kernel.ramdax === 'absent') {
        throw new StepSkip(`kernel ${ctx.kernel.release} has no ramdax driver (CONFIG_RAMDAX not set)`);
      }
      await bindE820(r, p.driver, { rebind: p.rebind });
      const { bus, providers } = await readBus(r, PROVIDER[p.driver]);
      r.details.buses = providers;
      r.check(bus !== undefined, `no nvdimm bus with provider '${PROVIDER[p.driver]}' (buses: ${providers.join(', ') || 'none'})`);
      const dimms = asArray(bus!.dimms).length;
      const regions = asArray(bus!.regions);
      r.details.dimms = dimms;
      r.details.regions = regions.map((x) => ({ dev: x.dev, size: x.size, align: x.align, available: x.available_size }));
      for (const reg of regions) {
        const why = impossibleSizes(reg);
        r.check(why === undefined, why!);
      }
      const expDimms = p.expect.dimms ?? (p.driver === 'ramdax' ? ctx.carveOuts.length : 0);
      const expRegions = p.expect.regions ?? ctx.carveOuts.length;
      r.check(dimms === expDimms, `expected ${expDimms} DIMM(s) on the ${PROVIDER[p.driver]} bus, ndctl shows ${dimms}`);
      r.check(regions.length === expRegions, `expected ${expRegions} region(s), ndctl shows ${regions.length}`);
    }),
};
