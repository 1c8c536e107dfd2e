/** The parts of a checked scenario that steps, results and the runner share (the loader is scenario/load.ts). */

/** One RAM range to carve out as legacy persistent memory (`memmap=SIZE!START`). */
export interface CarveOut {
  size: number;
  start: number;
}

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
