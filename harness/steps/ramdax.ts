import { z } from 'zod';
import { command } from '../common/shell-quote.js';
import { runBody, StepSkip } from './recorder.js';
import { asArray, type NdBus } from './ndctl.js';
import type { StepKind } from './types.js';
import { bindDeviceTree } from './ramdax-of.js';

const Params = z
  .object({
    /**
     * Which driver binds the carve-outs: ramdax (labels), or the label-less
     * control of the platform — nd_e820 for the x86 e820_pmem device, of_pmem
     * for arm64's pmem-region device-tree nodes.
     */
    driver: z.enum(['ramdax', 'nd_e820', 'of_pmem']).default('ramdax'),
    expect: z
      .object({
        dimms: z.number().int().min(0).max(512).optional(),
        regions: z.number().int().min(0).max(512).optional(),
        /** fail: the probe is expected to fail (device-tree path): the device stays unbound, no bus is left behind. */
        bind: z.enum(['ok', 'fail']).default('ok'),
      })
      .strict()
      .default({ bind: 'ok' }),
  })
  .strict();
type Params = z.output<typeof Params>;

const DEV = '/sys/bus/platform/devices/e820_pmem';
const PROVIDER: Record<Params['driver'], string> = { ramdax: 'ramdax', nd_e820: 'e820', of_pmem: 'of_pmem' };

/**
 * Bind the e820_pmem platform device to the chosen driver (driver_override,
 * unbind from whoever holds it, bind), then check what ndctl sees.
 */
export const ramdaxStep: StepKind<Params> = {
  kind: 'ramdax',
  summary: 'bind the legacy-PMEM device to ramdax (or nd_e820) and check bus, DIMMs and regions',
  schema: Params as z.ZodType<Params, unknown>,
  title: (p) => `bind e820_pmem to ${p.driver}${p.expect.bind === 'fail' ? ' (probe expected to fail)' : ''}`,
  run: (ctx, p) =>
    runBody(ctx, async (r) => {
      if (p.driver === 'ramdax' && ctx.kernel.ramdax === 'absent') {
        throw new StepSkip(`kernel ${ctx.kernel.release} has no ramdax driver (CONFIG_RAMDAX not set)`);
      }
      // Device-tree machines: pmem-region nodes instead of e820_pmem (ramdax-of.ts).
      if (ctx.arch === 'arm64') {
        r.check(p.driver !== 'nd_e820', 'nd_e820 is the x86 control; on arm64 the label-less control is of_pmem');
        return bindDeviceTree(r, ctx, { driver: p.driver as 'ramdax' | 'of_pmem', expect: p.expect });
      }
      r.check(p.driver !== 'of_pmem' && p.expect.bind === 'ok', 'of_pmem and expect.bind: fail are for device-tree machines (machine: { arch: arm64 })');
      const driver = p.driver === 'nd_e820' ? 'nd_e820' : 'ramdax';
      const present = await r.sh(`test -e ${DEV}`, { allowFail: true });
      r.check(present.exitCode === 0, `no ${DEV}: the kernel made no legacy PMEM range (is there a memmap=SIZE!START on the command line, inside guest RAM?)`);
      // Built in, the e820 driver is called e820_pmem; as a module, nd_e820.
      await r.sh(command('modprobe', '-a', '-q', driver, 'nd_pmem', 'dax_pmem', 'device_dax', 'nd_btt'), { allowFail: true });
      await r.sh(`echo ${command(driver === 'nd_e820' ? '' : 'ramdax')} > ${DEV}/driver_override`);
      const holder = (await r.sh(`basename "$(readlink ${DEV}/driver 2>/dev/null)"`, { allowFail: true })).stdout.trim();
      const want = driver === 'nd_e820' ? ['nd_e820', 'e820_pmem'] : ['ramdax'];
      if (holder && holder !== '.' && !want.includes(holder)) {
        await r.sh(`echo e820_pmem > /sys/bus/platform/drivers/${holder}/unbind`);
      }
      const now = (await r.sh(`basename "$(readlink ${DEV}/driver 2>/dev/null)"`, { allowFail: true })).stdout.trim();
      if (!want.includes(now)) {
        const target = driver === 'ramdax' ? 'ramdax' : '$(ls -d /sys/bus/platform/drivers/nd_e820 /sys/bus/platform/drivers/e820_pmem 2>/dev/null | head -n1 | xargs basename)';
        await r.sh(`echo e820_pmem > /sys/bus/platform/drivers/${target}/bind`);
      }
      const bound = (await r.sh(`basename "$(readlink ${DEV}/driver)"`)).stdout.trim();
      r.check(want.includes(bound), `e820_pmem is bound to '${bound}', not ${want.join('/')}`);

      const buses = asArray(await r.json<NdBus | NdBus[]>('ndctl list -BDR'));
      const bus = buses.find((b) => b.provider === PROVIDER[p.driver]);
      r.details.buses = buses.map((b) => b.provider);
      r.check(bus !== undefined, `no nvdimm bus with provider '${PROVIDER[p.driver]}' (buses: ${buses.map((b) => b.provider).join(', ') || 'none'})`);
      const dimms = asArray(bus!.dimms).length;
      const regions = asArray(bus!.regions);
      r.details.dimms = dimms;
      r.details.regions = regions.map((x) => ({ dev: x.dev, size: x.size, align: x.align, available: x.available_size }));
      // Sizes must make sense: a label area larger than its range underflows into huge mapping lengths.
      for (const reg of regions) {
        const bad = asArray(reg.mappings).find((m) => m.length > reg.size);
        r.check((reg.available_size ?? 0) >= 0 && !bad, `${reg.dev}: ndctl reports impossible sizes (size ${reg.size}, available_size ${reg.available_size}${bad ? `, mapping length ${bad.length} on ${bad.dimm}` : ''}): the carve-out is no larger than ramdax's label area`);
      }
      const expDimms = p.expect.dimms ?? (p.driver === 'ramdax' ? ctx.carveOuts.length : 0);
      const expRegions = p.expect.regions ?? ctx.carveOuts.length;
      r.check(dimms === expDimms, `expected ${expDimms} DIMM(s) on the ${PROVIDER[p.driver]} bus, ndctl shows ${dimms}`);
      r.check(regions.length === expRegions, `expected ${expRegions} region(s), ndctl shows ${regions.length}`);
    }),
};

