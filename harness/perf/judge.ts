import type { Metric } from '../results/model.js';
import { mannWhitney, median, relativeMad } from './stats.js';

/**
 * The regression detector for one metric (pure). A change counts only when
 * BOTH hold:
 *  - the relative change of the medians exceeds max(k × pooled relative MAD, floor):
 *    the threshold grows with the noise measured in these very samples;
 *  - a one-sided Mann-Whitney rank test on the samples is significant (p ≤ alpha).
 * When the noise is so wide that the threshold itself exceeds `maxThreshold`, or
 * there are too few samples, the verdict is `inconclusive`, never a pass.
 */
export interface JudgeOptions {
  k: number;
  floor: number;
  alpha: number;
  maxThreshold: number;
  minSamples: number;
}

export const DEFAULT_JUDGE: JudgeOptions = { k: 3, floor: 0.05, alpha: 0.05, maxThreshold: 0.5, minSamples: 3 };

export type Verdict = 'regression' | 'improvement' | 'unchanged' | 'inconclusive';

export interface Judgement {
  verdict: Verdict;
  /** Relative change of the median, current vs baseline (+0.1 = 10 % higher). */
  change: number;
  /** Relative change needed to count. */
  threshold: number;
  /** Pooled relative MAD of both sample sets. */
  noise: number;
  /** One-sided p-value in the direction of the observed change. */
  p: number;
  why: string;
}

export function judge(base: readonly number[], cur: readonly number[], better: Metric['better'], o: JudgeOptions = DEFAULT_JUDGE): Judgement {
  const mb = median(base);
  const mc = median(cur);
  const change = mb === 0 ? (mc === 0 ? 0 : Infinity * Math.sign(mc)) : (mc - mb) / Math.abs(mb);
  const noise = Math.sqrt((relativeMad(base) ** 2 + relativeMad(cur) ** 2) / 2);
  const threshold = Math.max(o.k * noise, o.floor);
  const mw = mannWhitney(cur, base);
  const worse = better === 'higher' ? change < 0 : change > 0;
  // p for "current is worse" / "current is better" in the metric's own direction.
  const pWorse = better === 'higher' ? mw.pLess : mw.pGreater;
  const pBetter = better === 'higher' ? mw.pGreater : mw.pLess;
  const p = worse ? pWorse : pBetter;
  const base_ = { change, threshold, noise, p };
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
