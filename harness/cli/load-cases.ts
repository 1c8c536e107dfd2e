import { loadCatalog } from '../catalog/catalog.js';
import { expand, filterCases } from '../matrix/expand.js';
import { inputError } from '../common/errors.js';
import { loadScenarios } from '../scenario/load.js';
import type { Case } from '../runner/case.js';

/** Scenario paths → checked, expanded, filtered cases (bad input throws InputError: exit 2). */
export async function loadCases(paths: string[], filters: string[]): Promise<Case[]> {
  const catalog = await loadCatalog();
  const scenarios = await loadScenarios(paths.length ? paths : ['scenarios'], catalog);
  const all = expand(scenarios);
  const cases = filterCases(all, filters);
  if (cases.length === 0) throw inputError(`--filter ${filters.join(' ')} matches none of: ${all.map((c) => c.id).join(', ')}`);
  return cases;
}
