import type { CaseResult, Metric, RunResult } from '../results/model.js';
import { DEFAULT_JUDGE, judge, type JudgeOptions, type Judgement } from './judge.js';
import { metricIdentity } from './metrics.js';

/**
 * Pairs the metrics of two runs (pure). A metric is compared only when its case
 * id, the case's kernel (release and file hashes), command line, image hash and
 * accelerator, and the metric's name, unit and key are all identical.
 */
export interface Compared {
  caseId: string;
  point: string;
  metric: string;
  unit: string;
  better: Metric['better'];
  baseline: Metric;
  current: Metric;
  judgement: Judgement;
}

export interface Unpaired {
  caseId: string;
  metric?: string;
  reason: string;
}

export interface Comparison {
  compared: Compared[];
  unpaired: Unpaired[];
}

/** What must be equal for two cases' metrics to be comparable. */
export function caseIdentity(c: CaseResult): Record<string, unknown> {
  return {
    kernelRelease: c.kernel?.release,
    kernelSha256: c.kernel?.sha256,
    cmdline: c.cmdline,
    imageSha256: c.image?.sha256,
    accel: c.accel?.accel,
  };
}

/** The first field where two cases differ, or undefined. */
export function identityDiff(a: CaseResult, b: CaseResult): string | undefined {
  const ia = caseIdentity(a);
  const ib = caseIdentity(b);
  for (const k of Object.keys(ia)) if (JSON.stringify(ia[k]) !== JSON.stringify(ib[k])) return k;
  return undefined;
}

function metricsOf(c: CaseResult): Map<string, { point: string; m: Metric }> {
  const out = new Map<string, { point: string; m: Metric }>();
  for (const p of c.points) for (const m of p.metrics ?? []) out.set(`${p.name}\u0000${metricIdentity(m)}`, { point: p.name, m });
  return out;
}

export function compareRuns(baseline: RunResult, current: RunResult, o: JudgeOptions = DEFAULT_JUDGE): Comparison {
  const compared: Compared[] = [];
  const unpaired: Unpaired[] = [];
  const baseCases = new Map(baseline.cases.map((c) => [c.id, c]));
  for (const cur of current.cases) {
    const curMetrics = metricsOf(cur);
    if (curMetrics.size === 0) continue;
    const base = baseCases.get(cur.id);
    if (!base) {
      unpaired.push({ caseId: cur.id, reason: 'no such case in the baseline' });
      continue;
    }
    const diff = identityDiff(base, cur);
    if (diff) {
      unpaired.push({ caseId: cur.id, reason: `${diff} differs from the baseline: not comparable` });
      continue;
    }
    const baseMetrics = metricsOf(base);
    for (const [id, { point, m }] of curMetrics) {
      const b = baseMetrics.get(id);
      if (!b) {
        unpaired.push({ caseId: cur.id, metric: m.name, reason: 'no metric with this name and key in the baseline' });
        continue;
      }
      compared.push({ caseId: cur.id, point, metric: m.name, unit: m.unit, better: m.better, baseline: b.m, current: m, judgement: judge(b.m.samples, m.samples, m.better, o) });
    }
    for (const [id, { m }] of baseMetrics) if (!curMetrics.has(id)) unpaired.push({ caseId: cur.id, metric: m.name, reason: 'in the baseline only' });
  }
  const curIds = new Set(current.cases.map((c) => c.id));
  for (const base of baseline.cases) if (!curIds.has(base.id) && metricsOf(base).size) unpaired.push({ caseId: base.id, reason: 'case in the baseline only' });
  return { compared, unpaired };
}
