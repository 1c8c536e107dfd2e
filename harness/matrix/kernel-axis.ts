/**
 * `run --kernel NAME` (pure; unit-tested): one name replaces every case's
 * kernel; several make `kernel` an axis — each case runs once per kernel and
 * its id gets `kernel=NAME` (appended to its axis list, or replacing a
 * `kernel` axis the scenario already has).
 */
import type { Scenario } from '../scenario/load.js';

/** `name[a=1,b=2]` + kernel=K → `name[a=1,b=2,kernel=K]`; an existing kernel=... is replaced. */
export function withAxis(id: string, axis: string, label: string): string {
  const m = /^(.*?)\[(.*)\]$/.exec(id);
  const name = m ? m[1]! : id;
  const parts = m ? m[2]!.split(',').filter((p) => !p.startsWith(`${axis}=`)) : [];
  return `${name}[${[...parts, `${axis}=${label}`].join(',')}]`;
}

/** `name[a=1,kernel=K]` → `name[a=1]`; `name[kernel=K]` → `name`. */
export function withoutAxis(id: string, axis: string): string {
  const m = /^(.*?)\[(.*)\]$/.exec(id);
  if (!m) return id;
  const parts = m[2]!.split(',').filter((p) => !p.startsWith(`${axis}=`));
  return parts.length ? `${m[1]}[${parts.join(',')}]` : m[1]!;
}

export function applyKernels(scenarios: Scenario[], kernels: readonly string[]): Scenario[] {
  const names = [...new Set(kernels)];
  if (names.length === 0) return scenarios;
  if (names.length === 1) return scenarios.map((s) => ({ ...s, kernel: names[0]! }));
  const out: Scenario[] = [];
  const seen = new Set<string>();
  for (const s of scenarios) {
    for (const k of names) {
      const id = withAxis(s.id, 'kernel', k);
      // A scenario with its own kernel axis collapses onto the --kernel values.
      if (seen.has(id)) continue;
      seen.add(id);
      out.push({ ...s, id, kernel: k, axes: { ...s.axes, kernel: k }, env: { ...s.env, kernel: k } });
    }
  }
  return out;
}
