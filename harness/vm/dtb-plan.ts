/**
 * Carve-outs in the device tree (pure; unit-tested). On arm64 the scenario's
 * `memmap` strings keep their meaning — guest-physical RAM to turn into
 * persistent memory — but reach the kernel through the device tree QEMU's
 * `virt` machine boots with:
 *
 * - each `memmap` entry is one `pmem-region` node, each of its
 *   comma-separated ranges one `reg` entry (one ramdax DIMM and region);
 * - the carved RAM is taken away from the kernel with
 *   `/chosen/linux,usable-memory-range`: QEMU 7.2 rewrites `/memory` from
 *   `-m` when it loads a `-dtb` (a smaller `reg` or a `linux,usable-memory`
 *   there is lost), while `/chosen` keeps what the file says. The kernel caps
 *   memblock to the first range and adds the second (drivers/of/fdt.c,
 *   MAX_USABLE_RANGES = 2): the RAM left must be at most two pieces;
 * - QEMU's per-boot random `rng-seed` and `kaslr-seed` are removed from
 *   `/chosen`, so the same scenario gives the same DTB (sha256) every time.
 */
import { formatSize } from '../common/units.js';
import { hex, VIRT_RAM_BASE, type CarveOut, type MemmapArg } from '../scenario/memmap.js';

/** QEMU loads the kernel Image, the initrd (at RAM + 128 MiB) and the DTB after it into the start of RAM: no carve-out there. */
export const VIRT_LOADER_BYTES = 256 * 1024 ** 2;

/** Entries of linux,usable-memory-range the kernel reads (drivers/of/fdt.c). */
export const MAX_USABLE_RANGES = 2;

/** [start, end) in guest-physical bytes. */
export interface Range {
  start: number;
  end: number;
}

export interface PmemNode {
  /** Node name with unit address, e.g. `pmem@100000000`. */
  name: string;
  /** One entry per range: each becomes a ramdax DIMM. */
  reg: CarveOut[];
  /** Index of the `memmap` entry it comes from. */
  arg: number;
}

/**
 * How carved RAM is kept from the kernel: `usable-memory-range` (the
 * default: the kernel never sees it as memory) or `reserved-no-map` (a
 * `/reserved-memory` child with `no-map`: the kernel knows it as memory,
 * keeps it out of the linear map and lists it as "reserved"). See docs/arm64.md
 * for what the second does to DAX.
 */
export type CarveMode = 'usable-memory-range' | 'reserved-no-map';

export interface DtbPlan {
  ram: Range;
  /** RAM the kernel may use (empty: the property is left out, all RAM is usable). */
  usable: Range[];
  /** reserved-no-map: the carved RAM as no-map reserved-memory regions. */
  reserved: Range[];
  nodes: PmemNode[];
}

export interface PlanProblem {
  /** Index of the `memmap` entry at fault (undefined: the whole set). */
  arg?: number;
  message: string;
}

const fmt = (r: Range) => `${hex(r.start)}-${hex(r.end - 1)}`;

/** RAM minus the ranges (pieces in address order, empty pieces dropped). */
export function subtract(ram: Range, cut: readonly Range[]): Range[] {
  const sorted = [...cut].sort((a, b) => a.start - b.start);
  const out: Range[] = [];
  let at = ram.start;
  for (const c of sorted) {
    const s = Math.max(c.start, ram.start);
    const e = Math.min(c.end, ram.end);
    if (e <= s) continue;
    if (s > at) out.push({ start: at, end: s });
    at = Math.max(at, e);
  }
  if (at < ram.end) out.push({ start: at, end: ram.end });
  return out;
}

/** The device-tree shape of a scenario's carve-outs on `virt` with `memory` bytes of RAM, or why it cannot be. */
export function planDtb(memmap: readonly MemmapArg[], memory: number, mode: CarveMode = 'usable-memory-range'): { plan: DtbPlan; problems: PlanProblem[] } {
  const ram: Range = { start: VIRT_RAM_BASE, end: VIRT_RAM_BASE + memory };
  const problems: PlanProblem[] = [];
  const loaderEnd = ram.start + VIRT_LOADER_BYTES;
  memmap.forEach((arg, i) => {
    for (const c of arg) {
      if (c.start < loaderEnd && c.start + c.size > ram.start) {
        problems.push({
          arg: i,
          message: `carve-out ${formatSize(c.size)}!${formatSize(c.start)} (${hex(c.start)}-${hex(c.start + c.size - 1)}) overlaps the first ${formatSize(VIRT_LOADER_BYTES)} of guest RAM (${hex(ram.start)}-${hex(loaderEnd - 1)}), where QEMU loads the kernel, initrd and device tree on arm64 virt`,
        });
      }
    }
  });
  const carved = memmap.flat().map((c) => ({ start: c.start, end: c.start + c.size }));
  const inRam = carved.some((c) => c.start < ram.end && c.end > ram.start);
  const nodes = memmap.map((reg, arg) => ({ name: `pmem@${reg[0]!.start.toString(16)}`, reg: [...reg], arg }));
  if (mode === 'reserved-no-map') {
    const reserved = carved.map((c) => ({ start: Math.max(c.start, ram.start), end: Math.min(c.end, ram.end) })).filter((c) => c.end > c.start);
    return { plan: { ram, usable: [], reserved, nodes }, problems };
  }
  const usable = inRam ? subtract(ram, carved) : [];
  if (usable.length > MAX_USABLE_RANGES) {
    problems.push({
      message: `these carve-outs leave guest RAM in ${usable.length} pieces (${usable.map(fmt).join(', ')}); on arm64 the kernel takes at most ${MAX_USABLE_RANGES} linux,usable-memory-range entries: put the carve-outs next to each other or at the top of RAM (${fmt(ram)})`,
    });
  }
  return { plan: { ram, usable, reserved: [], nodes }, problems };
}

/** `<hi lo hi lo>` cells of one address/size pair with #address-cells = #size-cells = 2. */
export function cells(start: number, size: number): string {
  const c = (n: number) => [Math.floor(n / 2 ** 32), n % 2 ** 32].map((x) => `0x${x.toString(16)}`).join(' ');
  return `<${c(start)} ${c(size)}>`;
}

/**
 * The DTS text appended to QEMU's decompiled tree: dtc merges a second
 * `/ { ... };` block into the first, so nothing of QEMU's tree is parsed
 * or rewritten by hand.
 */
export function dtsEdits(plan: DtbPlan): string {
  const lines = ['', '/* ramdax-harness: carve-outs as pmem-region nodes (docs/arm64.md) */', '/ {', '\tchosen {', '\t\t/delete-property/ rng-seed;', '\t\t/delete-property/ kaslr-seed;'];
  if (plan.usable.length) lines.push(`\t\tlinux,usable-memory-range = ${plan.usable.map((r) => cells(r.start, r.end - r.start)).join(', ')};`);
  lines.push('\t};');
  if (plan.reserved.length) {
    lines.push('', '\treserved-memory {', '\t\t#address-cells = <0x2>;', '\t\t#size-cells = <0x2>;', '\t\tranges;');
    for (const r of plan.reserved) lines.push('', `\t\tpmem-carve@${r.start.toString(16)} {`, `\t\t\treg = ${cells(r.start, r.end - r.start)};`, '\t\t\tno-map;', '\t\t};');
    lines.push('\t};');
  }
  for (const n of plan.nodes) {
    lines.push('', `\t${n.name} {`, '\t\tcompatible = "pmem-region";', `\t\treg = ${n.reg.map((c) => cells(c.start, c.size)).join(', ')};`, '\t};');
  }
  lines.push('};', '');
  return lines.join('\n');
}

/** Platform device name the kernel gives a root-level node: `<unit address>.<node name>` (e.g. `100000000.pmem`). */
export function platformDeviceName(node: string): string {
  const [base, unit] = node.split('@');
  return unit ? `${unit}.${base}` : base!;
}
