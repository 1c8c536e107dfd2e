import type { Metric } from '../model/results.js';
import { summarize } from './stats.js';

/** A Metric from its samples: median and spread are computed, every sample is kept. */
export function metric(name: string, unit: string, better: Metric['better'], samples: number[], key: Record<string, unknown>): Metric {
  return { name, unit, better, samples, ...summarize(samples), key };
}

/** Stable text of a metric's identity (name, unit and key with sorted fields): equal texts are comparable. */
export function metricIdentity(m: Pick<Metric, 'name' | 'unit' | 'key'>): string {
  return JSON.stringify([m.name, m.unit, sortKeys(m.key)]);
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => [k, sortKeys(x)]));
  return v;
}

/** Merge per-repeat samples into metrics, one per name, in first-seen order. */
export function collect(samples: { name: string; unit: string; better: Metric['better']; value: number }[], key: Record<string, unknown>): Metric[] {
  const by = new Map<string, { unit: string; better: Metric['better']; values: number[] }>();
  for (const s of samples) {
    const m = by.get(s.name) ?? { unit: s.unit, better: s.better, values: [] };
    m.values.push(s.value);
    by.set(s.name, m);
  }
  return [...by].map(([name, m]) => metric(name, m.unit, m.better, m.values, key));
}
