/** The parts of a checked scenario that steps, results and the runner share (the loader is scenario/load.ts). */

/** One RAM range to carve out as legacy persistent memory (`memmap=SIZE!START`). */
export interface CarveOut {
  size: number;
  start: number;
}

/** One `memmap=` argument: one or more carve-outs. */
export type MemmapArg = CarveOut[];

/** Where QEMU's arm `virt` machine puts guest RAM: one block from 1 GiB up. */
export const VIRT_RAM_BASE = 0x4000_0000;

/** A step as parsed from a scenario file. */
export interface Step {
  index: number;
  kind: string;
  name: string;
  timeoutMs: number;
  params: unknown;
  /** `expect: { finding: TITLE }` beside the step kind: this step is meant to trigger that kernel finding. */
  expect?: { finding: string };
}
