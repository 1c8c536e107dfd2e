/** Sizes and durations as written in scenarios: `512M`, `4G`, `0x1000`, `90s`, `2m`. */

const sizeUnits: Record<string, number> = {
  '': 1,
  K: 1024,
  M: 1024 ** 2,
  G: 1024 ** 3,
  T: 1024 ** 4,
};

/**
 * The size syntax, strict (docs/robustness.md, "Sizes"):
 * - a decimal number, optionally with a unit K, M, G or T (powers of 1024,
 *   any case), which may be spelled KiB/KB; a plain byte count may end in B;
 * - or a hex number `0x…` (bytes), optionally with a unit (`0x10M`).
 * `B` is a hex digit, so a hex number never takes a bare `B` suffix, and one
 * ending in b/B is refused as ambiguous: `0x10000B` reads as 1,048,587 bytes
 * to a kernel but as 65,536 to a person (see sizeProblem).
 */
const SIZE_RE = /^(?:(\d+)\s*(?:([KMGT])(?:i?B)?|B)?|(0x[0-9a-f]+)\s*(?:([KMGT])(?:i?B)?)?)$/i;

/** Whether a size is written correctly, whatever its magnitude. */
export const SIZE_SYNTAX = SIZE_RE;

/** A hex number ending in b/B without a unit: the b is a digit, though it reads like "bytes". */
const AMBIGUOUS_HEX = /^0x[0-9a-f]*b$/i;

/** Bytes from `512M`, `4G`, `128K`, `0x100000`, `4096`; undefined when malformed or ambiguous. */
export function parseSize(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isSafeInteger(text) && text >= 0 ? text : undefined;
  const t = text.trim();
  if (AMBIGUOUS_HEX.test(t)) return undefined;
  const m = SIZE_RE.exec(t);
  if (!m) return undefined;
  const base = m[3] !== undefined ? Number.parseInt(m[3], 16) : Number.parseInt(m[1]!, 10);
  const value = base * sizeUnits[(m[2] ?? m[4] ?? '').toUpperCase()]!;
  return Number.isSafeInteger(value) ? value : undefined;
}

/** Why a size string is refused, for the message (undefined when it parses). */
export function sizeProblem(text: string): string | undefined {
  const t = text.trim();
  if (AMBIGUOUS_HEX.test(t)) {
    const hexValue = Number.parseInt(t, 16);
    const without = t.slice(0, -1);
    return `size '${text}' is ambiguous: in a hex number B is a digit (${t} = ${hexValue} bytes), not "bytes"; write ${without === '0x' ? 'a decimal byte count' : `${without} for ${Number.parseInt(without, 16)} bytes`} or ${hexValue} for the hex value`;
  }
  if (parseSize(t) !== undefined) return undefined;
  return SIZE_RE.test(t) ? `size '${text}' is too large` : `bad size '${text}': write a whole number with an optional K/M/G/T suffix (e.g. 512M, 4G, 0x100000)`;
}

/** The shortest exact spelling of a byte count: 1073741824 -> `1G`, 4096 -> `4K`. */
export function formatSize(bytes: number): string {
  for (const unit of ['T', 'G', 'M', 'K'] as const) {
    const mult = sizeUnits[unit]!;
    if (bytes >= mult && bytes % mult === 0) return `${bytes / mult}${unit}`;
  }
  return String(bytes);
}

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/;

/** Milliseconds from `90s`, `2m`, `500ms` or a bare number of seconds. */
export function parseDuration(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? text * 1000 : undefined;
  const m = DURATION_RE.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number.parseFloat(m[1]!) * durationUnits[m[2] ?? 's']!);
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}

/** A number as 0x… (addresses in messages, device-tree reg values). */
export const hex = (n: number) => `0x${n.toString(16)}`;
