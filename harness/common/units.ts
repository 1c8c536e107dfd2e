/** Sizes and durations as written in scenarios: `512M`, `4G`, `0x1000`, `90s`, `2m`. */

const sizeUnits: Record<string, number> = {
  '': 1,
  K: 1024,
  M: 1024 ** 2,
  G: 1024 ** 3,
  T: 1024 ** 4,
};

const SIZE_RE = /^(0x[0-9a-f]+|\d+)\s*([KMGT]?)(i?B)?$/i;

/** Whether a size is written correctly, whatever its magnitude. */
export const SIZE_SYNTAX = SIZE_RE;

/** Bytes from `512M`, `4G`, `128K`, `0x100000`, `4096`; undefined when malformed. */
export function parseSize(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isSafeInteger(text) && text >= 0 ? text : undefined;
  const m = SIZE_RE.exec(text.trim());
  if (!m) return undefined;
  const base = m[1]!.toLowerCase().startsWith('0x') ? Number.parseInt(m[1]!, 16) : Number.parseInt(m[1]!, 10);
  const value = base * sizeUnits[m[2]!.toUpperCase()]!;
  return Number.isSafeInteger(value) ? value : undefined;
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
