import type { Scenario } from '../scenario/load.js';
import type { Case } from './case.js';

/** Cases to run: the loader already expanded matrices, one Scenario per case. */
export function expand(scenarios: Scenario[]): Case[] {
  return scenarios.map((s) => ({ id: s.id, scenario: s }));
}

/** Keep cases whose id matches any of the globs (`*` any run of characters, `?` one). */
export function filterCases(cases: Case[], globs: string[]): Case[] {
  if (globs.length === 0) return cases;
  const res = globs.map(globToRegExp);
  return cases.filter((c) => res.some((re) => re.test(c.id)));
}

export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}
