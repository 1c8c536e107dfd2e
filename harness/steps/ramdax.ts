import { z } from 'zod';
import { bindAction, unbindAction } from './ramdax-bind.js';
import { cycleAction } from './ramdax-cycle.js';
import { bindDeviceTree } from './ramdax-of.js';
import { Params, type BindParams, type RamdaxParams } from './ramdax-params.js';
import { runBody, StepSkip } from './recorder.js';
import type { StepKind } from './types.js';

export { CYCLE_VIA, LEAK_DEFAULTS, type BindParams, type CycleParams, type RamdaxParams, type UnbindParams } from './ramdax-params.js';

/**
 * The e820_pmem device's driver lifecycle. `bind` (the default) forces it
 * onto ramdax (or nd_e820); `unbind` takes it away; `cycle` does both N
 * times (sysfs, module reload, or a switch through nd_e820). Every action
 * has its checks built in: after an unbind nothing of the bus is left in
 * sysfs, /dev, ndctl or the mount table; after a bind exactly the expected
 * bus, DIMMs, regions and the namespaces from the labels; across cycles no
 * slab or memory growth per cycle.
 */
export const ramdaxStep: StepKind<RamdaxParams> = {
  kind: 'ramdax',
  summary: 'bind e820_pmem to ramdax (or nd_e820), unbind it, or cycle it N times, with "nothing left behind" and exact-count checks built in',
  schema: z.preprocess((v) => (v && typeof v === 'object' && !('action' in v) ? { ...v, action: 'bind' } : v), Params) as z.ZodType<RamdaxParams, unknown>,
  title: (p) => {
    if (p.action === 'bind') return `bind e820_pmem to ${p.driver}${p.expect.bind === 'fail' ? ' (probe expected to fail)' : ''}`;
    if (p.action === 'unbind') return `unbind e820_pmem${p.hold ? ` holding a mapping of ${p.hold.device ?? p.hold.file}` : ''}${p.expect.orphanMounts.length ? ` (mounted: ${p.expect.orphanMounts.join(', ')})` : ''}`;
    const what = { rmmod: `rmmod/modprobe (${p.modules.join(' ')})`, switch: 'ramdax → nd_e820 → ramdax', unbind: 'unbind/bind', none: 'control (no unbind)' }[p.via];
    return `${p.count} ${what} cycle${p.count === 1 ? '' : 's'}`;
  },
  uses: (p) => (p.action === 'unbind' && p.hold?.device && !p.hold.device.startsWith('/') ? [{ name: p.hold.device, param: 'hold' }] : []),
  run: (ctx, p) =>
    runBody(ctx, async (r) => {
      // Device-tree machines: pmem-region nodes instead of e820_pmem (ramdax-of.ts).
      if (ctx.arch === 'arm64') {
        if (p.action !== 'bind') throw new StepSkip(`ramdax ${p.action} is not implemented for device-tree machines yet (docs/arm64.md): only bind`);
        if (p.driver === 'ramdax' && ctx.kernel.ramdax === 'absent') throw new StepSkip(`kernel ${ctx.kernel.release} has no ramdax driver (CONFIG_RAMDAX not set)`);
        r.check(p.driver !== 'nd_e820', 'nd_e820 is the x86 control; on arm64 the label-less control is of_pmem');
        return bindDeviceTree(r, ctx, { driver: p.driver as 'ramdax' | 'of_pmem', expect: p.expect });
      }
      if (p.action === 'bind') {
        r.check(p.driver !== 'of_pmem' && p.expect.bind === 'ok', 'of_pmem and expect.bind: fail are for device-tree machines (machine: { arch: arm64 })');
        return bindAction(ctx, r, { ...p, driver: p.driver as BindParams['driver'] });
      }
      if (p.action === 'unbind') return unbindAction(ctx, r, p);
      return cycleAction(ctx, r, p);
    }),
};
