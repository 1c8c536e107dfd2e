/**
 * Bounds on scenario input (docs/robustness.md, "Bounded input"). Each keeps
 * loading a hostile or mistaken file fast and small — `validate` ends within
 * 2 s with `file:line:col` — and each sits far above what a real scenario needs.
 */

/** The file size and YAML depth bounds hold for every YAML input (scenarios, kernel and image definitions). */
export { MAX_DEPTH, MAX_FILE_BYTES } from '../common/input-limits.js';

/** Steps in one scenario (the longest shipped has 29). */
export const MAX_STEPS = 500;

/** Cases of all files together, after matrices and `--kernel` axes (one file's matrix: MAX_CASES in matrix/axes.ts). */
export const MAX_TOTAL_CASES = 4096;

/**
 * Carve-outs in one scenario, all memmap= arguments together. The kernel's
 * e820 table has 128 entries plus 3 per NUMA node and each carve-out can
 * split a RAM entry in three; KASLR avoids only the first four anyway.
 */
export const MAX_CARVE_OUTS = 32;

/** x86's COMMAND_LINE_SIZE is 2048 bytes including the final NUL: longer command lines are cut without a word. */
export const MAX_CMDLINE_BYTES = 2047;

/**
 * The smallest carve-out accepted without `allowOddMemmap`: ZONE_DEVICE
 * mappings (fsdax, devdax) are made in 2 MiB subsections, and ramdax keeps
 * the last 128 KiB of every range for its labels.
 */
export const MIN_CARVE_OUT_BYTES = 2 * 1024 ** 2;

/** Carve-out start and size must be whole pages (without `allowOddMemmap`). */
export const CARVE_OUT_ALIGN = 4096;

/** A matrix label becomes part of a folder name: keep it short. */
export const MAX_LABEL_CHARS = 64;

/** A case's results folder name (file systems allow 255 bytes). */
export const MAX_FOLDER_NAME = 200;
