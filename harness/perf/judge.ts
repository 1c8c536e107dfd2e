import type { Metric } from '../model/results.js';
import { mannWhitney, median, relativeMad } from './stats.js';

/**
 * The regression detector for one metric (pure).
 *
 * Samples come in groups, one per boot: the samples of one boot share that
 * boot's luck (where the guest's memory landed, the host's load), so boots
 * differ by more than the samples within a boot do. The detector models both:
 *  - within-boot noise σ: each side's pooled relative MAD of its groups; the
 *    median of N samples has a standard error of about 1.25 σ / √N;
 *  - boot-to-boot noise τ: the relative standard deviation of the per-boot
 *    medians, measured when a side has two or more boots (several baseline
 *    runs), never taken below `bootNoise`, the assumed figure used alone when
 *    each side has one boot.
 * The relative change of the medians counts only when BOTH hold:
 *  - it exceeds the threshold max(z × SE, floor), SE = √(SEσ² + SEτ²), where
 *    SEσ = 1.25 √(σb²/Nb + σc²/Nc) and SEτ = τ √(1/boots_baseline + 1/boots_current);
 *  - a one-sided Mann-Whitney rank test on all samples is significant (p ≤ alpha).
 * When the threshold itself exceeds `maxThreshold`, or there are too few
 * samples, the verdict is `inconclusive`, never a pass.
 */
export interface JudgeOptions {
  /** Standard errors a change must exceed. */
  z: number;
  /** Smallest relative change that ever counts. */
  floor: number;
  alpha: number;
  maxThreshold: number;
  minSamples: number;
  /** Assumed relative boot-to-boot noise: the lower bound of the measured τ, and τ itself when it cannot be measured. */
  bootNoise: number;
}

export const DEFAULT_JUDGE: JudgeOptions = { z: 3, floor: 0.05, alpha: 0.05, maxThreshold: 0.5, minSamples: 3, bootNoise: 0.03 };

export type Verdict = 'regression' | 'improvement' | 'unchanged' | 'inconclusive';

/** The samples of one metric on one side: one array per boot (run). */
export type SampleGroups = readonly (readonly number[])[];

export interface Judgement {
  verdict: Verdict;
  /** Relative change of the median, current vs baseline (+0.1 = 10 % higher). */
  change: number;
  /** Relative change needed to count. */
  threshold: number;
  /** Relative standard error of the change (the threshold is z times it, or the floor). */
  noise: number;
  /** Within-boot relative noise σ (pooled relative MAD of both sides). */
  withinBoot: number;
  /** Boot-to-boot relative noise τ used, and whether it was measured from several boots or assumed. */
  betweenBoot: number;
  betweenBootSource: 'measured' | 'assumed';
  boots: { baseline: number; current: number };
  /** One-sided p-value in the direction of the observed change. */
  p: number;
  why: string;
}

/** Relative standard error of a median of normal samples: √(π/2) σ / √n. */
const MEDIAN_SE = Math.sqrt(Math.PI / 2);

/** Pooled relative MAD of the groups (each about its own median), weighted by group size. */
export function withinBootNoise(groups: SampleGroups): number {
  let sum = 0;
  let n = 0;
  for (const g of groups) {
    if (g.length < 2) continue;
    sum += g.length * relativeMad(g) ** 2;
    n += g.length;
  }
  return n === 0 ? 0 : Math.sqrt(sum / n);
}

/** Relative standard deviation of the per-boot medians over both sides (each side about its own mean), or undefined with one boot per side. */
export function betweenBootNoise(...sides: SampleGroups[]): number | undefined {
  let ss = 0;
  let df = 0;
  let scale = 0;
  for (const side of sides) {
    const ms = side.filter((g) => g.length > 0).map((g) => median(g));
    if (ms.length < 2) continue;
    const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
    ss += ms.reduce((a, m) => a + ((m - mean) / mean) ** 2, 0);
    df += ms.length - 1;
    scale++;
  }
  return df === 0 || scale === 0 ? undefined : Math.sqrt(ss / df);
}

/** Accepts a flat sample list as one boot. */
const asGroups = (x: SampleGroups | readonly number[]): SampleGroups =>
  x.length > 0 && typeof x[0] === 'number' ? [x as readonly number[]] : (x as SampleGroups);

export function judge(baseIn: SampleGroups | readonly number[], curIn: SampleGroups | readonly number[], better: Metric['better'], o: JudgeOptions = DEFAULT_JUDGE): Judgement {
  const baseG = asGroups(baseIn).filter((g) => g.length > 0);
  const curG = asGroups(curIn).filter((g) => g.length > 0);
  const base = baseG.flat();
  const cur = curG.flat();
  const mb = median(base);
  const mc = median(cur);
  const change = mb === 0 ? (mc === 0 ? 0 : Infinity * Math.sign(mc)) : (mc - mb) / Math.abs(mb);
  const withinBase = withinBootNoise(baseG);
  const withinCur = withinBootNoise(curG);
  const withinBoot = withinBootNoise([...baseG, ...curG]);
  const measured = betweenBootNoise(baseG, curG);
  const betweenBoot = Math.max(measured ?? 0, o.bootNoise);
  const boots = { baseline: baseG.length, current: curG.length };
  // Each side's own noise (Welch-style): a noisy current run widens the threshold less than pooling would.
  const seWithin = MEDIAN_SE * Math.sqrt(withinBase ** 2 / Math.max(1, base.length) + withinCur ** 2 / Math.max(1, cur.length));
  const seBoots = betweenBoot * Math.sqrt(1 / Math.max(1, boots.baseline) + 1 / Math.max(1, boots.current));
  const noise = Math.hypot(seWithin, seBoots);
  const threshold = Math.max(o.z * noise, o.floor);
  const mw = mannWhitney(cur, base);
  const worse = better === 'higher' ? change < 0 : change > 0;
  // p for "current is worse" / "current is better" in the metric's own direction.
  const pWorse = better === 'higher' ? mw.pLess : mw.pGreater;
  const pBetter = better === 'higher' ? mw.pGreater : mw.pLess;
  const p = worse ? pWorse : pBetter;
  const base_ = { change, threshold, noise, withinBoot, betweenBoot, betweenBootSource: measured !== undefined && measured >= o.bootNoise ? ('measured' as const) : ('assumed' as const), boots, p };
  if (base.length < o.minSamples || cur.length < o.minSamples) {
    return { ...base_, verdict: 'inconclusive', why: `too few samples to judge (${base.length} vs ${cur.length}; need ${o.minSamples} each)` };
  }
  if (!Number.isFinite(noise) || threshold > o.maxThreshold) {
    return { ...base_, verdict: 'inconclusive', why: `spread too wide to judge: noise ${pct(noise)} needs a change over ${pct(threshold)}` };
  }
  if (Math.abs(change) <= threshold) return { ...base_, verdict: 'unchanged', why: `change ${signed(change)} within threshold ${pct(threshold)}` };
  if (p > o.alpha) {
    return { ...base_, verdict: 'inconclusive', why: `change ${signed(change)} beyond threshold ${pct(threshold)} but not significant (p=${p.toFixed(3)} > ${o.alpha})` };
  }
  return { ...base_, verdict: worse ? 'regression' : 'improvement', why: `change ${signed(change)} beyond threshold ${pct(threshold)}, p=${p.toFixed(3)}` };
}

export const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
export const signed = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
