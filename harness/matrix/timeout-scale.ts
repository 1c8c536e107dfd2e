/**
 * Slow kernels (pure; unit-tested): a kernel may declare `timeoutScale: N`
 * (a debug kernel under TCG runs several times slower); every deadline of a
 * case on it is multiplied by N, so a slow kernel is judged on what it does,
 * not on time-outs sized for a fast one.
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
