import type { CaseResult, Metric, RunResult } from '../results/model.js';
import { DEFAULT_JUDGE, judge, type JudgeOptions, type Judgement } from './judge.js';
import { metricIdentity } from './metrics.js';
import { summarize } from './stats.js';

/**
 * Pairs the metrics of two runs (pure). A metric is compared only when its case
 * id, the case's kernel (release and file hashes), command line, image hash,
 * accelerator, guest architecture (and arm64 device-tree carve-outs), clock
 * (host or icount) and machine shape, and the metric's
 * name, unit and key are all identical.
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
    // Runs from before architectures existed were all x86_64.
    arch: c.machine?.arch ?? 'x86_64',
    // arm64 carve-outs are in the device tree, not on the command line.
    deviceTreeEdits: c.dtb?.edits,
    // Instruction-counted time and host time measure different things (runs from before icount existed used host time).
    clock: c.machine?.icount === undefined ? 'host' : `icount shift=${c.machine.icount}`,
  };
}

/** Compared only when both runs recorded them (older runs did not record the machine's shape). */
const machineShape = (c: CaseResult): Record<string, unknown> => ({ machineType: c.machine?.type, cpus: c.machine?.cpus, memoryBytes: c.machine?.memoryBytes });

/** The first field where two cases differ, or undefined. */
export function identityDiff(a: CaseResult, b: CaseResult): string | undefined {
  const ia = caseIdentity(a);
  const ib = caseIdentity(b);
  for (const k of Object.keys(ia)) if (JSON.stringify(ia[k]) !== JSON.stringify(ib[k])) return k;
  const ma = machineShape(a);
  const mb = machineShape(b);
  for (const k of Object.keys(ma)) if (ma[k] !== undefined && mb[k] !== undefined && ma[k] !== mb[k]) return k;
  return undefined;
}

function metricsOf(c: CaseResult): Map<string, { point: string; m: Metric }> {
  const out = new Map<string, { point: string; m: Metric }>();
  for (const p of c.points) for (const m of p.metrics ?? []) out.set(`${p.name}\u0000${metricIdentity(m)}`, { point: p.name, m });
  return out;
}

/**
 * Several baseline runs (separate boots of the same setup) let the detector
 * measure the boot-to-boot noise: each pairs with the current case on its own,
 * and the samples of every baseline run that pairs form one group.
 */
export function compareRuns(baselineIn: RunResult | readonly RunResult[], current: RunResult, o: JudgeOptions = DEFAULT_JUDGE): Comparison {
  const baselines = Array.isArray(baselineIn) ? (baselineIn as readonly RunResult[]) : [baselineIn as RunResult];
  const compared: Compared[] = [];
  const unpaired: Unpaired[] = [];
  for (const cur of current.cases) {
    const curMetrics = metricsOf(cur);
    if (curMetrics.size === 0) continue;
    const found = baselines.map((b) => b.cases.find((c) => c.id === cur.id)).filter((c) => c !== undefined);
    if (found.length === 0) {
      unpaired.push({ caseId: cur.id, reason: 'no such case in the baseline' });
      continue;
    }
    const same = found.filter((b) => identityDiff(b, cur) === undefined);
    if (same.length === 0) {
      unpaired.push({ caseId: cur.id, reason: `${identityDiff(found[0]!, cur)} differs from the baseline: not comparable` });
      continue;
    }
    const baseMetrics = same.map(metricsOf);
    for (const [id, { point, m }] of curMetrics) {
      const groups = baseMetrics.map((bm) => bm.get(id)?.m).filter((x) => x !== undefined);
      if (groups.length === 0) {
        unpaired.push({ caseId: cur.id, metric: m.name, reason: 'no metric with this name and key in the baseline' });
        continue;
      }
      const judgement = judge(groups.map((g) => g.samples), [m.samples], m.better, o);
      compared.push({ caseId: cur.id, point, metric: m.name, unit: m.unit, better: m.better, baseline: merged(groups), current: m, judgement });
    }
    const baselineOnly = new Map<string, Metric>();
    for (const bm of baseMetrics) for (const [id, { m }] of bm) if (!curMetrics.has(id)) baselineOnly.set(id, m);
    for (const m of baselineOnly.values()) unpaired.push({ caseId: cur.id, metric: m.name, reason: 'in the baseline only' });
  }
  const curIds = new Set(current.cases.map((c) => c.id));
  const seenCases = new Set<string>();
  for (const b of baselines) {
    for (const base of b.cases) {
      if (curIds.has(base.id) || seenCases.has(base.id) || metricsOf(base).size === 0) continue;
      seenCases.add(base.id);
      unpaired.push({ caseId: base.id, reason: 'case in the baseline only' });
    }
  }
  return { compared, unpaired };
}

/** One baseline metric from several runs' groups: all samples, their median and spread. */
function merged(groups: Metric[]): Metric {
  if (groups.length === 1) return groups[0]!;
  const samples = groups.flatMap((g) => g.samples);
  return { ...groups[0]!, samples, ...summarize(samples) };
}
