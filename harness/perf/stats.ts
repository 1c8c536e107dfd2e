/**
 * Statistics for performance samples (pure). Every sample is kept; these
 * summarise them robustly (median, median absolute deviation) and test whether
 * two sample sets differ (Mann-Whitney U, exact where small).
 */

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median absolute deviation, scaled by 1.4826 so it estimates a normal standard deviation. */
export function mad(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const m = median(xs);
  return 1.4826 * median(xs.map((x) => Math.abs(x - m)));
}

/** MAD relative to the median: the noise of one sample set as a fraction (0.03 = 3 %). */
export function relativeMad(xs: readonly number[]): number {
  const m = median(xs);
  return m === 0 ? (mad(xs) === 0 ? 0 : Infinity) : mad(xs) / Math.abs(m);
}

/** (max - min) / median, as `Metric.spread`. */
export function spread(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const m = median(xs);
  const range = Math.max(...xs) - Math.min(...xs);
  return m === 0 ? (range === 0 ? 0 : Infinity) : range / Math.abs(m);
}

/** Mid-ranks (1-based) of the pooled samples; ties share their mean rank. */
export function ranks(xs: readonly number[]): number[] {
  const idx = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(xs.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1]![0] === idx[i]![0]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[idx[k]![1]] = r;
    i = j + 1;
  }
  return out;
}

export interface RankTest {
  /** U statistic of `a` (number of pairs where a > b, ties count 1/2). */
  u: number;
  /** One-sided p-value for "a tends to be greater than b". */
  pGreater: number;
  /** One-sided p-value for "a tends to be less than b". */
  pLess: number;
  method: 'exact' | 'normal';
}

/** Largest number of label permutations enumerated for an exact test. */
const EXACT_LIMIT = 200_000;

/**
 * Mann-Whitney U test. Exact permutation distribution (ties handled by
 * mid-ranks) when C(n, m) is small, else the normal approximation with tie
 * correction and continuity correction.
 */
export function mannWhitney(a: readonly number[], b: readonly number[]): RankTest {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) return { u: NaN, pGreater: 1, pLess: 1, method: 'exact' };
  const r = ranks([...a, ...b]);
  const rankSumA = r.slice(0, n1).reduce((s, x) => s + x, 0);
  const u = rankSumA - (n1 * (n1 + 1)) / 2;
  if (binomial(n1 + n2, n1) <= EXACT_LIMIT) {
    // Enumerate every way to pick n1 of the pooled ranks: the null distribution of the rank sum.
    let ge = 0;
    let le = 0;
    let total = 0;
    const eps = 1e-9;
    const walk = (start: number, left: number, sum: number) => {
      if (left === 0) {
        total++;
        if (sum >= rankSumA - eps) ge++;
        if (sum <= rankSumA + eps) le++;
        return;
      }
      for (let i = start; i <= r.length - left; i++) walk(i + 1, left - 1, sum + r[i]!);
    };
    walk(0, n1, 0);
    return { u, pGreater: ge / total, pLess: le / total, method: 'exact' };
  }
  const n = n1 + n2;
  const counts = new Map<number, number>();
  for (const x of r) counts.set(x, (counts.get(x) ?? 0) + 1);
  const tieTerm = [...counts.values()].reduce((s, t) => s + (t ** 3 - t), 0);
  const mean = (n1 * n2) / 2;
  const sd = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  if (sd === 0) return { u, pGreater: 1, pLess: 1, method: 'normal' };
  const zG = (u - mean - 0.5) / sd;
  const zL = (u - mean + 0.5) / sd;
  return { u, pGreater: 1 - normalCdf(zG), pLess: normalCdf(zL), method: 'normal' };
}

export function binomial(n: number, k: number): number {
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return Math.round(c);
}

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 erf, |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** A Metric's summary fields from its samples. */
export function summarize(samples: readonly number[]): { median: number; spread: number } {
  return { median: median(samples), spread: spread(samples) };
}
