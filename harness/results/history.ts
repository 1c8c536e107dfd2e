import { compareRuns } from '../perf/compare.js';
import type { Verdict } from '../perf/judge.js';
import { metricId } from '../perf/metric-id.js';
import type { RunResult, Status } from '../model/results.js';

/** Earlier runs each night is judged against (separate boots: the boot-to-boot noise is measured). */
export const HISTORY_BASELINES = 3;

export interface CaseHistory {
  id: string;
  /** One per run, oldest first; undefined when the run did not have the case. */
  statuses: (Status | undefined)[];
  /** The run id where the current failure streak began (the latest run fails), else undefined. */
  failingSince?: string;
  /** The last run where the case passed, if it fails now. */
  lastPass?: string;
}

export interface MetricHistory {
  id: string;
  unit: string;
  better: 'higher' | 'lower';
  /** Median per run, oldest first. */
  medians: (number | undefined)[];
  /** The verdict of each run against up to HISTORY_BASELINES earlier runs (undefined: not comparable or first). */
  verdicts: (Verdict | undefined)[];
  /** Why, per run (the judgement's words). */
  why: (string | undefined)[];
}

export interface History {
  runs: { runId: string; startedAt: string; status: RunResult['status'] }[];
  cases: CaseHistory[];
  metrics: MetricHistory[];
}

const failing = (s: Status | undefined) => s === 'fail' || s === 'error' || s === 'miss';

/**
 * Several runs (nights) → per-case status over time and per-metric series with
 * compare's noise-aware verdicts (pure). Runs are taken oldest first by startedAt.
 */
export function buildHistory(input: RunResult[]): History {
  const runs = [...input].sort((a, b) => (a.startedAt < b.startedAt ? -1 : a.startedAt > b.startedAt ? 1 : 0));
  const caseIds: string[] = [];
  for (const r of runs) for (const c of r.cases) if (!caseIds.includes(c.id)) caseIds.push(c.id);
  const cases = caseIds.map((id): CaseHistory => {
    const statuses = runs.map((r) => r.cases.find((c) => c.id === id)?.status);
    const h: CaseHistory = { id, statuses };
    if (failing(statuses.at(-1))) {
      let i = statuses.length - 1;
      while (i > 0 && (failing(statuses[i - 1]) || statuses[i - 1] === undefined)) i--;
      while (statuses[i] === undefined) i++;
      h.failingSince = runs[i]!.runId;
      const lp = statuses.map((s, k) => (s === 'pass' ? k : -1)).filter((k) => k >= 0).at(-1);
      if (lp !== undefined) h.lastPass = runs[lp]!.runId;
    }
    return h;
  });
  const metrics = new Map<string, MetricHistory>();
  const slot = (id: string, unit: string, better: 'higher' | 'lower') => {
    let m = metrics.get(id);
    if (!m) metrics.set(id, (m = { id, unit, better, medians: runs.map(() => undefined), verdicts: runs.map(() => undefined), why: runs.map(() => undefined) }));
    return m;
  };
  runs.forEach((r, i) => {
    for (const c of r.cases) for (const p of c.points) for (const m of p.metrics ?? []) slot(metricId(c.id, p.name, m.name), m.unit, m.better).medians[i] = m.median;
    if (i === 0) return;
    for (const x of compareRuns(runs.slice(Math.max(0, i - HISTORY_BASELINES), i), r).compared) {
      const m = slot(metricId(x.caseId, x.point, x.metric), x.unit, x.better);
      m.verdicts[i] = x.judgement.verdict;
      m.why[i] = x.judgement.why;
    }
  });
  return { runs: runs.map((r) => ({ runId: r.runId, startedAt: r.startedAt, status: r.status })), cases, metrics: [...metrics.values()] };
}

const MARK: Record<Verdict, string> = { regression: '▼', improvement: '▲', unchanged: '=', inconclusive: '?' };
const STATUS_MARK: Record<Status, string> = { pass: 'ok', fail: 'FAIL', error: 'ERR', miss: 'MISS', skip: 'skip' };

/** Plain text: the status table, failing-since lines, the metric series with verdict marks. */
export function historyText(h: History): string {
  const lines = [`${h.runs.length} run(s), oldest first:`];
  h.runs.forEach((r, i) => lines.push(`  [${i + 1}] ${r.runId} (${r.status})`));
  lines.push('', 'case status per run:');
  const w = Math.max(4, ...h.cases.map((c) => c.id.length));
  lines.push(`  ${'case'.padEnd(w)}  ${h.runs.map((_, i) => `[${i + 1}]`.padEnd(5)).join(' ')}`);
  for (const c of h.cases) lines.push(`  ${c.id.padEnd(w)}  ${c.statuses.map((s) => (s ? STATUS_MARK[s] : '-').padEnd(5)).join(' ')}${c.failingSince ? `  failing since ${c.failingSince}${c.lastPass ? ` (last pass ${c.lastPass})` : ' (never passed here)'}` : ''}`);
  if (h.metrics.length) {
    lines.push('', `metrics (median per run; vs up to ${HISTORY_BASELINES} earlier runs: ▼ regression, ▲ improvement, = unchanged, ? inconclusive):`);
    for (const m of h.metrics) {
      const cells = m.medians.map((v, i) => `${v === undefined ? '-' : fmt(v)}${m.verdicts[i] ? MARK[m.verdicts[i]!] : ''}`);
      lines.push(`  ${m.id} [${m.unit}, ${m.better} is better]`, `    ${cells.join('  ')}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toPrecision(3));
