import { z } from 'zod';
import { Duration, Size } from '../scenario/types.js';
import { DeviceRef, GuestPath } from './device.js';
import { DEFAULT_CACHES, FIGURES, type Figure } from './mem-sample.js';
import { bindAction, unbindAction } from './ramdax-bind.js';
import { cycleAction } from './ramdax-cycle.js';
import { bindDeviceTree } from './ramdax-of.js';
import { runBody, StepSkip } from './recorder.js';
import type { StepKind } from './types.js';

const Count = z.number().int().min(0).max(512);

const Counts = z
  .object({
    dimms: Count.optional(),
    regions: Count.optional(),
    /** Enabled namespaces after the bind (default: those the last unbind took away, by uuid; unchecked when there was none). */
    namespaces: Count.optional(),
  })
  .strict();

const Bind = z
  .object({
    action: z.literal('bind'),
    /**
     * Which driver binds the carve-outs: ramdax (labels), or the label-less
     * control of the platform — nd_e820 for the x86 e820_pmem device, of_pmem
     * for arm64's pmem-region device-tree nodes.
     */
    driver: z.enum(['ramdax', 'nd_e820', 'of_pmem']).default('ramdax'),
    expect: Counts.extend({
      /** fail: the probe is expected to fail (device-tree path): the device stays unbound, no bus is left behind. */
      bind: z.enum(['ok', 'fail']).default('ok'),
    }).default({ bind: 'ok' }),
  })
  .strict();

/** A process that keeps a mapping open across the unbind: a devdax namespace, or a file on a mounted fsdax file system. */
const Hold = z
  .object({
    /** A devdax namespace name or a /dev/daxX.Y path. */
    device: DeviceRef.optional(),
    /** A file (created when missing) on a mounted file system. */
    file: GuestPath.optional(),
    length: Size.default(2 * 1024 ** 2),
    /** How long the unbind may take while the mapping is held before it counts as blocked. */
    wait: Duration.default(20_000),
  })
  .strict()
  .refine((h) => (h.device === undefined) !== (h.file === undefined), { message: 'hold one of device: or file:' });

const Unbind = z
  .object({
    action: z.literal('unbind'),
    hold: Hold.optional(),
    expect: z
      .object({
        /** Mount points that stay in the mount table with their device gone (unbind under a mounted file system). */
        orphanMounts: z.array(GuestPath).max(16).default([]),
        /** With `hold`: whether the unbind completes while the mapping is held, or waits until it is released. */
        unbind: z.enum(['completes', 'waits']).default('completes'),
        /** With `hold`: what the holder sees when it touches its mapping after the unbind. */
        holder: z.enum(['sigbus', 'intact']).optional(),
      })
      .strict()
      .default({ orphanMounts: [], unbind: 'completes' }),
  })
  .strict();

/**
 * Leak limits: a slack for noise plus a rate per cycle, per figure. Measured
 * on Debian 7.2.13 under TCG (docs/lifecycle.md): over 16–20 cycles the
 * control (no unbind) and unbind/bind runs moved kmalloc by −66…+29 KiB,
 * SUnreclaim by −81…+270 KiB (new kworkers for async probing, sockets),
 * VmallocUsed by up to 49 KiB (their stacks), memory in use by ±5 MiB; the
 * watched caches by at most 3 objects, Percpu not at all.
 */
export const LEAK_DEFAULTS = {
  warmup: 3,
  caches: DEFAULT_CACHES,
  slack: { objects: 16, kmalloc: 128 * 1024, slab: 512 * 1024, percpu: 128 * 1024, vmalloc: 256 * 1024, used: 16 * 1024 ** 2 },
  perCycle: { objects: 0.5, kmalloc: 1024, slab: 4096, percpu: 1024, vmalloc: 4096, used: 256 * 1024 },
};

const Limits = (d: Record<Figure, number>) =>
  z
    .object(Object.fromEntries(FIGURES.map((f) => [f, (f === 'objects' ? z.number().min(0) : Size).default(d[f])])) as Record<Figure, z.ZodDefault<z.ZodNumber>>)
    .strict()
    .default(d);

export const CYCLE_VIA = ['unbind', 'rmmod', 'switch', 'none'] as const;

const Cycle = z
  .object({
    action: z.literal('cycle'),
    count: z.number().int().min(1).max(10_000),
    /**
     * unbind: through sysfs (unbind, bind); rmmod: `modprobe -r ramdax` while
     * bound must be refused, then unbind, unload the modules, reload them and
     * the device binds by itself (modular kernels; a SKIP when ramdax is built
     * in); switch: ramdax → nd_e820 → ramdax, both views checked; none: the
     * control — the same snapshots and memory samples without touching the
     * driver, to see the harness's own noise.
     */
    via: z.enum(CYCLE_VIA).default('unbind'),
    /** With via: rmmod, the modules to unload (in order; libnvdimm last) — all must be gone in between. */
    modules: z.array(z.string().regex(/^[a-z0-9_]+$/)).min(1).max(16).default(['ramdax']),
    /** A guest command run after every rebind; it must exit 0 (e.g. compare data written before). */
    check: z.string().min(1).max(4096).optional(),
    expect: Counts.default({}),
    /** Slab and memory growth across the cycles (see docs/lifecycle.md for how the defaults were measured); `false` turns the check off. */
    leaks: z
      .union([
        z.literal(false),
        z
          .object({
            /** Cycles before the first sample (one-time allocations). */
            warmup: z.number().int().min(0).max(100).default(LEAK_DEFAULTS.warmup),
            caches: z.array(z.string().regex(/^[\w.-]+$/)).max(32).default(LEAK_DEFAULTS.caches),
            /** Absolute growth allowed (noise): objects per watched cache, or bytes (kmalloc, slab, percpu, vmalloc, used). */
            slack: Limits(LEAK_DEFAULTS.slack),
            /** Growth allowed per cycle on top of the slack. */
            perCycle: Limits(LEAK_DEFAULTS.perCycle),
          })
          .strict(),
      ])
      .default(LEAK_DEFAULTS),
  })
  .strict();

const Params = z.discriminatedUnion('action', [Bind, Unbind, Cycle]);
export type RamdaxParams = z.output<typeof Params>;
/** The x86 bind (e820_pmem): of_pmem is the device-tree control, handled by ramdax-of.ts. */
export type BindParams = Omit<z.output<typeof Bind>, 'driver'> & { driver: 'ramdax' | 'nd_e820' };
export type UnbindParams = z.output<typeof Unbind>;
export type CycleParams = z.output<typeof Cycle>;

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
