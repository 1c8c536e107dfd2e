import type { Case } from './case.js';

const PERF_KINDS = new Set(['fio', 'bench']);

/** `run --repeat N`: every fio/bench step of every case takes N samples, whatever the scenario says (pure). */
export function withRepeats(cases: Case[], n: number): Case[] {
  return cases.map((c) => ({
    ...c,
    scenario: {
      ...c.scenario,
      repeats: n,
      steps: c.scenario.steps.map((s) => (PERF_KINDS.has(s.kind) ? { ...s, params: { ...(s.params as object), repeats: n } } : s)),
    },
  }));
}
