import { formatSize, parseSize, sizeProblem } from '../common/units.js';
import { CARVE_OUT_ALIGN, MAX_CARVE_OUTS, MIN_CARVE_OUT_BYTES } from './limits.js';

/** One RAM range to carve out as legacy persistent memory (`memmap=SIZE!START`). */
export interface CarveOut {
  size: number;
  start: number;
}

/** One `memmap=` kernel argument; it may hold several comma-separated carve-outs. */
export type MemmapArg = CarveOut[];

/** Parse `512M!4G` or `512M!4G,256M!6G`; returns an error message when malformed. */
export function parseMemmapArg(text: string): MemmapArg | string {
  const parts = text.split(',', MAX_CARVE_OUTS + 1);
  if (parts.length > MAX_CARVE_OUTS) return `more than ${MAX_CARVE_OUTS} carve-outs in one memmap argument`;
  const out: CarveOut[] = [];
  for (const part of parts) {
    const m = /^([^!]+)!([^!]+)$/.exec(part.trim());
    if (!m) return `bad memmap '${part}': write SIZE!START, e.g. 1G!4G`;
    const size = parseSize(m[1]!);
    const start = parseSize(m[2]!);
    if (size === undefined) return `bad memmap size '${m[1]}' in '${part}'${detail(m[1]!)}`;
    if (start === undefined) return `bad memmap start '${m[2]}' in '${part}'${detail(m[2]!)}`;
    if (size === 0) return `memmap '${part}' carves out nothing (size 0)`;
    out.push({ size, start });
  }
  return out;
}

/** The reason beyond "bad size" when there is one worth saying (ambiguous hex, too large). */
function detail(text: string): string {
  const why = sizeProblem(text);
  return why && !why.startsWith('bad size') ? `: ${why}` : '';
}

/**
 * Why a carve-out is too small or not whole pages to be a sensible ramdax
 * range, or undefined (scenario option `allowOddMemmap` turns this off).
 */
export function oddReason(c: CarveOut): string | undefined {
  const what = `carve-out ${formatSize(c.size)}!${formatSize(c.start)}`;
  if (c.size % CARVE_OUT_ALIGN || c.start % CARVE_OUT_ALIGN) return `${what} is not whole 4K pages (start ${hex(c.start)}, size ${c.size} bytes): e820 ranges and ramdax regions are made of pages`;
  if (c.size < MIN_CARVE_OUT_BYTES) return `${what} is smaller than 2M: fsdax and devdax map pmem in 2 MiB subsections, and ramdax keeps the last 128K of every range for its labels`;
  return undefined;
}

export function formatMemmapArg(arg: MemmapArg): string {
  return `memmap=${arg.map((c) => `${formatSize(c.size)}!${formatSize(c.start)}`).join(',')}`;
}

export type MachineType = 'pc' | 'q35' | 'virt';

/** Where QEMU's arm `virt` machine puts guest RAM: one block from 1 GiB up. */
export const VIRT_RAM_BASE = 0x4000_0000;

/** Guest-physical RAM ranges QEMU's machines give a guest with `memory` bytes. */
export function guestRamRanges(memory: number, machine: MachineType): { start: number; end: number }[] {
  if (machine === 'virt') return [{ start: VIRT_RAM_BASE, end: VIRT_RAM_BASE + memory }];
  const G4 = 4 * 1024 ** 3;
  // QEMU keeps RAM below the PCI hole; with gigabyte alignment (the default of
  // both machines since 2.x) the low part ends at 3 GiB (pc) or 2 GiB (q35)
  // once the guest has more RAM than fits below the hole.
  const lowLimit = machine === 'pc' ? 0xe0000000 : 0xb0000000;
  const lowAligned = machine === 'pc' ? 0xc0000000 : 0x80000000;
  if (memory < lowLimit) return [{ start: 0, end: memory }];
  return [
    { start: 0, end: lowAligned },
    { start: G4, end: G4 + (memory - lowAligned) },
  ];
}

/** Why a carve-out is not backed by guest RAM, or undefined when it is. */
export function unbackedReason(c: CarveOut, memory: number, machine: MachineType): string | undefined {
  const ranges = guestRamRanges(memory, machine);
  const inside = ranges.some((r) => c.start >= r.start && c.start + c.size <= r.end);
  if (inside) return undefined;
  const layout = ranges.map((r) => `${hex(r.start)}-${hex(r.end - 1)}`).join(', ');
  return `carve-out ${formatSize(c.size)}!${formatSize(c.start)} (${hex(c.start)}-${hex(c.start + c.size - 1)}) is not inside guest RAM (${layout} with memory ${formatSize(memory)} on '${machine}'): writes to it would silently vanish`;
}

export const hex = (n: number) => `0x${n.toString(16)}`;
