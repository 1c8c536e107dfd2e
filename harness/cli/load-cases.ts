import { loadCatalog } from '../catalog/catalog.js';
import { expand, filterCases } from '../matrix/expand.js';
import { applyKernels } from '../matrix/kernel-axis.js';
import { withKernelSettings } from '../matrix/kernel-settings.js';
import { inputError } from '../common/errors.js';
import { loadScenarios } from '../scenario/load.js';
import type { Case } from '../runner/case.js';

/** Scenario paths → checked, expanded, filtered cases (bad input throws InputError: exit 2). */
export async function loadCases(paths: string[], filters: string[], kernels: string[] = []): Promise<Case[]> {
  const catalog = await loadCatalog();
  for (const k of kernels) if (!catalog.kernels.has(k)) throw inputError(`--kernel ${k}: unknown kernel (known: ${[...catalog.kernels.keys()].join(', ')})`, 'kernels are defined in kernels/*.yaml; see `ramdax-harness kernel list`');
  const scenarios = await loadScenarios(paths.length ? paths : ['scenarios'], catalog);
  const all = expand(applyKernels(scenarios, kernels).map((s) => withKernelSettings(s, catalog.kernels.get(s.kernel))));
  const cases = filterCases(all, filters);
  if (cases.length === 0) throw inputError(`--filter ${filters.join(' ')} matches none of: ${all.map((c) => c.id).join(', ')}`);
  return cases;
}
