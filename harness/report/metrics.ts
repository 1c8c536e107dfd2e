import type { CaseResult, Metric, RunResult } from '../model/results.js';

/** `tcg`, `kvm`, or `tcg icount=N` when guest time was counted in instructions (figures not comparable with host time). */
export const accelLabel = (c: CaseResult): string => (c.accel ? `${c.accel.accel}${c.machine?.icount !== undefined ? ` icount=${c.machine.icount}` : ''}` : '');

/** One metric of one test point, with where it came from: the unit of metrics.csv / metrics.json. */
export interface MetricRow extends Metric {
  runId: string;
  caseId: string;
  scenario: string;
  point: string;
  kernel: string;
  accel: string;
}

export function metricRows(run: RunResult): MetricRow[] {
  const rows: MetricRow[] = [];
  for (const c of run.cases) {
    for (const p of c.points) {
      for (const m of p.metrics ?? []) {
        rows.push({
          runId: run.runId,
          caseId: c.id,
          scenario: c.scenario,
          point: p.name,
          kernel: c.kernel?.release ?? '',
          accel: accelLabel(c),
          name: m.name,
          unit: m.unit,
          better: m.better,
          samples: [...m.samples],
          median: m.median,
          spread: m.spread,
          key: m.key ?? {},
        });
      }
    }
  }
  return rows;
}

/** The key as a stable string: sorted fields, so equal keys compare equal across runs. */
export function keyString(key: Record<string, unknown>): string {
  return Object.keys(key)
    .sort()
    .map((k) => `${k}=${typeof key[k] === 'object' ? JSON.stringify(key[k]) : String(key[k])}`)
    .join(',');
}

function csvField(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export const CSV_COLUMNS = ['run', 'case', 'scenario', 'point', 'kernel', 'accel', 'metric', 'unit', 'better', 'key', 'median', 'spread', 'sample_index', 'sample'] as const;

/** One line per sample (long format), so every sample survives; median/spread repeat per line. */
export function metricsCsv(rows: MetricRow[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of rows) {
    const head = [r.runId, r.caseId, r.scenario, r.point, r.kernel, r.accel, r.name, r.unit, r.better, keyString(r.key), String(r.median), String(r.spread)];
    r.samples.forEach((s, i) => lines.push([...head, String(i), String(s)].map(csvField).join(',')));
  }
  return `${lines.join('\n')}\n`;
}

export function metricsJson(run: RunResult, rows: MetricRow[]): string {
  return `${JSON.stringify({ runId: run.runId, startedAt: run.startedAt, metrics: rows }, null, 2)}\n`;
}

/**
 * Key fields that name the storage under test; the first one present is the
 * bar's series. Without one, the case is the series: the shipped perf
 * scenarios run the same fio workload (same name, same target path) in one
 * case per backend (perf-fsdax[…dax=dax], …[dax=pagecache], perf-virtio-blk, perf-tmpfs).
 */
export const BACKEND_KEYS = ['backend', 'storage'] as const;
/** Key fields that say nothing about the workload (left out of group labels). */
const QUIET_KEYS = ['step'];
/** Plot order and colours: fsdax first, then page cache, virtio-blk, tmpfs, then anything else. */
export const BACKEND_ORDER = ['fsdax', 'devdax', 'pagecache', 'page-cache', 'dax=never', 'virtio-blk', 'tmpfs'];

export function backendOf(key: Record<string, unknown>): string | undefined {
  for (const k of BACKEND_KEYS) if (key[k] !== undefined) return String(key[k]);
  return undefined;
}

function workloadKey(key: Record<string, unknown>): Record<string, unknown> {
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(key)) if (!(BACKEND_KEYS as readonly string[]).includes(k) && !QUIET_KEYS.includes(k)) rest[k] = v;
  return rest;
}

export interface Bar {
  series: string;
  median: number;
  min: number;
  max: number;
  samples: number;
  row: MetricRow;
}
export interface BarGroup {
  label: string;
  bars: Bar[];
}
export interface Chart {
  name: string;
  unit: string;
  better: 'higher' | 'lower';
  groups: BarGroup[];
  series: string[];
}

/** Position in BACKEND_ORDER of the last backend word the series name holds ("perf-fsdax[dax=pagecache]" is page cache). */
export function seriesRank(s: string): number {
  let rank = -1;
  BACKEND_ORDER.forEach((b, i) => {
    if (s.includes(b)) rank = Math.max(rank, i);
  });
  return rank < 0 ? BACKEND_ORDER.length : rank;
}

/** A metric name without its last `:` part ("fio:seq-read:bw" → "fio:seq-read"); the chart it is drawn in. */
export function chartFamily(name: string): string {
  const parts = name.split(':');
  return parts.length > 1 ? parts.slice(0, -1).join(':') : name;
}

/**
 * One chart per family (the name without its last part) and unit, so
 * boot:kernel-start … boot:first-command or fio:x:lat-p50/p99 share a chart,
 * while bandwidth and latency never share an axis. Within a chart one group
 * per workload (the last name part when several names meet, and the key
 * fields other than the backend that differ), one bar per backend. Rows
 * without a backend key are one series named after their case. Duplicates
 * (the same backend from several cases, e.g. two kernels) get the case id in
 * the series name.
 */
export function charts(rows: MetricRow[]): Chart[] {
  const byChart = new Map<string, MetricRow[]>();
  for (const r of rows) {
    const id = `${chartFamily(r.name)}\u0000${r.unit}`;
    byChart.set(id, [...(byChart.get(id) ?? []), r]);
  }
  const out: Chart[] = [];
  for (const list of byChart.values()) {
    const names = [...new Set(list.map((r) => r.name))];
    const family = chartFamily(list[0]!.name);
    const work = list.map((r) => workloadKey(r.key));
    // Group labels show only the workload fields that differ among rows of the same name
    // (a field that only follows the name, like boot's `stage`, says nothing new).
    const varying = [...new Set(work.flatMap((w) => Object.keys(w)))].filter((k) =>
      names.some((n) => new Set(work.filter((_, i) => list[i]!.name === n).map((w) => keyString({ v: w[k] }))).size > 1),
    );
    const fallback = names.length === 1 ? name1(names[0]!) : family;
    const raw = list.map((r, i) => {
      const fields = keyString(Object.fromEntries(varying.filter((k) => k in work[i]!).map((k) => [k, work[i]![k]])));
      const stat = names.length > 1 ? r.name.slice(family.length + 1) : '';
      return { r, series: backendOf(r.key) ?? r.caseId, group: [stat, fields].filter(Boolean).join(' ') || fallback };
    });
    const seen = new Map<string, number>();
    for (const x of raw) seen.set(`${x.group}\u0000${x.series}`, (seen.get(`${x.group}\u0000${x.series}`) ?? 0) + 1);
    for (const x of raw) if ((seen.get(`${x.group}\u0000${x.series}`) ?? 0) > 1 && x.series !== x.r.caseId) x.series = `${x.series} (${x.r.caseId})`;
    const groups = new Map<string, Bar[]>();
    for (const x of raw) {
      const s = x.r.samples.filter(Number.isFinite);
      groups.set(x.group, [
        ...(groups.get(x.group) ?? []),
        { series: x.series, median: x.r.median, min: s.length ? Math.min(...s) : x.r.median, max: s.length ? Math.max(...s) : x.r.median, samples: s.length, row: x.r },
      ]);
    }
    const series = [...new Set(raw.map((x) => x.series))].sort((a, b) => seriesRank(a) - seriesRank(b) || a.localeCompare(b));
    out.push({
      name: names.length === 1 ? names[0]! : `${family}:{${names.map((n) => n.slice(family.length + 1)).join(',')}}`,
      unit: list[0]!.unit,
      better: list[0]!.better,
      series,
      groups: [...groups].map(([label, bars]) => ({ label, bars: bars.sort((a, b) => series.indexOf(a.series) - series.indexOf(b.series)) })),
    });
  }
  return out;
}

/** The label of a chart holding one metric name: its middle part ("fio:seq-read:bw" → "seq-read"), else the name. */
function name1(name: string): string {
  return name.split(':').slice(1, -1).join(':') || name;
}

export interface Delta {
  row: MetricRow;
  base: MetricRow;
  /** (now - base) / base; positive means the number grew. */
  change: number;
  /** Whether the change is an improvement given `better`, a regression, or within the larger of the two spreads. */
  verdict: 'better' | 'worse' | 'same';
}

/** Pair each metric with the baseline's: same case id, name and key first, else the same name and key. */
export function deltas(rows: MetricRow[], baseRows: MetricRow[]): { pairs: Delta[]; unmatched: MetricRow[] } {
  const exact = new Map(baseRows.map((b) => [`${b.caseId}\u0000${b.name}\u0000${keyString(b.key)}`, b]));
  const loose = new Map<string, MetricRow>();
  for (const b of baseRows) {
    const k = `${b.name}\u0000${keyString(b.key)}`;
    if (!loose.has(k)) loose.set(k, b);
  }
  const pairs: Delta[] = [];
  const unmatched: MetricRow[] = [];
  for (const r of rows) {
    const base = exact.get(`${r.caseId}\u0000${r.name}\u0000${keyString(r.key)}`) ?? loose.get(`${r.name}\u0000${keyString(r.key)}`);
    if (!base || base.median === 0) {
      unmatched.push(r);
      continue;
    }
    const change = (r.median - base.median) / Math.abs(base.median);
    const noise = Math.max(r.spread, base.spread, 0);
    const up = r.better === 'higher' ? change > 0 : change < 0;
    pairs.push({ row: r, base, change, verdict: Math.abs(change) <= noise ? 'same' : up ? 'better' : 'worse' });
  }
  return { pairs, unmatched };
}
