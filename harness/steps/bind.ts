/**
 * Binding the legacy-PMEM platform device (e820_pmem) to ramdax or nd_e820,
 * and reading back the nvdimm bus it gives. Shared by the `ramdax` step and
 * the data-integrity checkpoints that rebind or reboot.
 */
import { command } from '../common/shell-quote.js';
import { asArray, type NdBus, type NdRegion } from './ndctl.js';
import type { StepRecorder } from './recorder.js';

export type Driver = 'ramdax' | 'nd_e820';

export const E820_DEV = '/sys/bus/platform/devices/e820_pmem';
export const PROVIDER: Record<Driver, string> = { ramdax: 'ramdax', nd_e820: 'e820' };

const holderCommand = (quiet: boolean) => `basename "$(readlink ${E820_DEV}/driver${quiet ? ' 2>/dev/null' : ''})"`;

/**
 * driver_override, unbind from whoever else holds the device, bind. With
 * `rebind`, a device already bound to the driver is unbound and bound again
 * (the bus, its DIMMs, regions and namespaces are torn down and re-read from
 * the labels).
 */
export async function bindE820(r: StepRecorder, driver: Driver, opts: { rebind?: boolean } = {}): Promise<void> {
  const present = await r.sh(`test -e ${E820_DEV}`, { allowFail: true });
  r.check(present.exitCode === 0, `no ${E820_DEV}: the kernel made no legacy PMEM range (is there a memmap=SIZE!START on the command line, inside guest RAM?)`);
  // Built in, the e820 driver is called e820_pmem; as a module, nd_e820.
  await r.sh(command('modprobe', '-a', '-q', driver, 'nd_pmem', 'dax_pmem', 'device_dax', 'nd_btt'), { allowFail: true });
  await r.sh(`echo ${command(driver === 'nd_e820' ? '' : 'ramdax')} > ${E820_DEV}/driver_override`);
  const holder = (await r.sh(holderCommand(true), { allowFail: true })).stdout.trim();
  const want = driver === 'nd_e820' ? ['nd_e820', 'e820_pmem'] : ['ramdax'];
  if (holder && holder !== '.' && (!want.includes(holder) || opts.rebind)) {
    await r.sh(`echo e820_pmem > /sys/bus/platform/drivers/${holder}/unbind`);
  }
  const now = (await r.sh(holderCommand(true), { allowFail: true })).stdout.trim();
  if (!want.includes(now)) {
    const target = driver === 'ramdax' ? 'ramdax' : '$(ls -d /sys/bus/platform/drivers/nd_e820 /sys/bus/platform/drivers/e820_pmem 2>/dev/null | head -n1 | xargs basename)';
    await r.sh(`echo e820_pmem > /sys/bus/platform/drivers/${target}/bind`);
  }
  const bound = (await r.sh(holderCommand(false))).stdout.trim();
  r.check(want.includes(bound), `e820_pmem is bound to '${bound}', not ${want.join('/')}`);
}

/** The bus of a provider as ndctl lists it (-BDR), plus every bus's provider. */
export async function readBus(r: StepRecorder, provider: string): Promise<{ bus: NdBus | undefined; providers: string[] }> {
  const buses = asArray(await r.json<NdBus | NdBus[]>('ndctl list -BDR'));
  return { bus: buses.find((b) => b.provider === provider), providers: buses.map((b) => b.provider) };
}

/** Sizes that cannot be: a label area larger than its range underflows into huge mapping lengths (pure). */
export function impossibleSizes(reg: NdRegion): string | undefined {
  const bad = asArray(reg.mappings).find((m) => m.length > reg.size);
  if ((reg.available_size ?? 0) >= 0 && !bad) return undefined;
  return `${reg.dev}: ndctl reports impossible sizes (size ${digits(reg.size)}, available_size ${digits(reg.available_size)}${bad ? `, mapping length ${digits(bad.length)} on ${bad.dimm}` : ''}): the carve-out is no larger than ramdax's label area`;
}

/**
 * An integer as ndctl printed it: JSON numbers above 2^53 are doubles, and
 * JavaScript prints their shortest form (2^64 − 126976 as 18446744073709425000);
 * BigInt gives the double's exact value (18446744073709424640).
 */
export function digits(n: number | undefined): string {
  return n !== undefined && Number.isInteger(n) && !Number.isSafeInteger(n) ? BigInt(n).toString() : String(n);
}

/**
 * How many DIMMs and regions of which sizes a bus has, as text to compare
 * before and after a rebind or reboot (pure). Names are left out: the kernel
 * may number regions differently when it probes them again.
 */
export function busShape(bus: NdBus | undefined): string {
  if (!bus) return 'no bus';
  const dimms = asArray(bus.dimms).length;
  const regions = asArray(bus.regions).map((x) => x.size).sort((a, b) => a - b);
  return `${dimms} DIMM${dimms === 1 ? '' : 's'}, region sizes ${regions.join(', ') || 'none'}`;
}
