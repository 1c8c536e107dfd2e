/**
 * What a kernel definition adds to every case that runs on it (pure;
 * unit-tested): extra kernel arguments (`cmdline:`) and, for slow kernels,
 * longer deadlines (`timeoutScale: N` — a debug kernel under TCG runs several
 * times slower; every deadline is multiplied by N, so it is judged on what it
 * does, not on time-outs sized for a fast one).
 */
import type { Scenario } from '../scenario/load.js';

const DAY = 24 * 3_600_000;
const scale = (ms: number, f: number) => Math.min(DAY, Math.round(ms * f));

export function scaleTimeouts(s: Scenario, factor: number): Scenario {
  if (!(factor > 1)) return s;
  const t = s.timeouts;
  return {
    ...s,
    timeouts: { boot: scale(t.boot, factor), ssh: scale(t.ssh, factor), step: scale(t.step, factor), teardown: scale(t.teardown, factor), silence: scale(t.silence, factor) },
    steps: s.steps.map((st) => ({ ...st, timeoutMs: scale(st.timeoutMs, factor) })),
  };
}

/** The kernel's own arguments come after the scenario's (appended once). */
export function withKernelSettings(s: Scenario, def: { timeoutScale?: number; cmdline?: string[] } | undefined): Scenario {
  if (!def) return s;
  const extra = (def.cmdline ?? []).filter((a) => !s.cmdline.includes(a));
  const withArgs = extra.length ? { ...s, cmdline: [...s.cmdline, ...extra] } : s;
  return scaleTimeouts(withArgs, def.timeoutScale ?? 1);
}
