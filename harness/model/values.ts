import { z } from 'zod';
import { parseDuration, parseSize, sizeProblem } from '../common/units.js';

/** A byte count written as `512M`, `4G`, `0x1000` or a plain number. */
export const Size = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const bytes = parseSize(v);
  if (bytes === undefined) {
    const message =
      typeof v === 'string'
        ? sizeProblem(v)!
        : Number.isInteger(v) && v >= 0
          ? `size '${v}' is too large`
          : `bad size '${v}': write a whole number with an optional K/M/G/T suffix (e.g. 512M, 4G, 0x100000)`;
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  }
  return bytes;
});

/** A duration in milliseconds, written as `90s`, `2m`, `500ms` or seconds. */
export const Duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: `bad duration '${v}': write a positive duration, e.g. 90s, 2m, 500ms` });
    return z.NEVER;
  }
  if (ms > 24 * 3_600_000) {
    ctx.addIssue({ code: 'custom', message: `duration '${v}' is longer than 24h` });
    return z.NEVER;
  }
  return ms;
});

/** The shortest deadline a scenario may set: below a second, a deadline measures the host's scheduler, not the guest. */
export const MIN_TIMEOUT_MS = 1000;

/** A deadline (scenario timeouts, a step's timeout): a Duration of at least 1 s. */
export const Timeout = Duration.refine((ms) => ms >= MIN_TIMEOUT_MS, { message: `a timeout is at least 1s (shorter deadlines measure the host's scheduler, not the guest)` });

/** A name usable in ids and file names. */
export const Name = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i, 'use letters, digits, ".", "_" and "-" only').max(80);

/** A power of two, as alignments are. */
export const PowerOfTwoSize = Size.refine((n) => n > 0 && Number.isInteger(Math.log2(n)), { message: 'an alignment is a power of two (4K, 2M, 1G)' });
