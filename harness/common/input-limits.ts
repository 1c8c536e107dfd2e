/** Bounds on every YAML input the harness reads (docs/robustness.md, "Bounded input"); scenario/limits.ts has the rest. */

/** A scenario file: the largest shipped one is under 4 KiB. */
export const MAX_FILE_BYTES = 256 * 1024;

/** Nested collections (flow or block): a scenario nests about 6 deep; the YAML library needs seconds (or aborts) at a few thousand. */
export const MAX_DEPTH = 32;
