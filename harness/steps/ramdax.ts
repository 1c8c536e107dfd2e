import { z } from 'zod';
import { bindAction, unbindAction } from './ramdax-bind.js';
import { cycleAction } from './ramdax-cycle.js';
import { Params, type RamdaxParams } from './ramdax-params.js';
import { runBody } from './recorder.js';
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
    if (p.action === 'bind') return `bind e820_pmem to ${p.driver}`;
    if (p.action === 'unbind') return `unbind e820_pmem${p.hold ? ` holding a mapping of ${p.hold.device ?? p.hold.file}` : ''}${p.expect.orphanMounts.length ? ` (mounted: ${p.expect.orphanMounts.join(', ')})` : ''}`;
    const what = { rmmod: `rmmod/modprobe (${p.modules.join(' ')})`, switch: 'ramdax → nd_e820 → ramdax', unbind: 'unbind/bind', none: 'control (no unbind)' }[p.via];
    return `${p.count} ${what} cycle${p.count === 1 ? '' : 's'}`;
  },
  uses: (p) => (p.action === 'unbind' && p.hold?.device && !p.hold.device.startsWith('/') ? [{ name: p.hold.device, param: 'hold' }] : []),
  run: (ctx, p) =>
    runBody(ctx, async (r) => {
      if (p.action === 'bind') return bindAction(ctx, r, p);
      if (p.action === 'unbind') return unbindAction(ctx, r, p);
      return cycleAction(ctx, r, p);
    }),
};
