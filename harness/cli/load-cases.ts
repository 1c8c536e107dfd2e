import { loadCatalog, type Catalog } from '../catalog/catalog.js';
import { kernelArch } from '../catalog/schema.js';
import { expand, filterCases } from '../matrix/expand.js';
import { applyKernels } from '../matrix/kernel-axis.js';
import { withKernelSettings } from '../matrix/kernel-settings.js';
import { InputError, inputError } from '../common/errors.js';
import { safeName } from '../common/names.js';
import { MAX_FOLDER_NAME, MAX_TOTAL_CASES } from '../scenario/limits.js';
import { ARCHES, type Arch } from '../common/arch.js';
import { loadScenarios } from '../scenario/load.js';
import type { Case } from '../runner/case.js';

/**
 * Scenario paths → checked, expanded, filtered cases (bad input throws InputError: exit 2).
 * `opts.catalog` may hold kernels made from the command line (see kernel-ref.ts); `opts.arches` keeps only those guest architectures.
 */
export async function loadCases(paths: string[], filters: string[], kernels: string[] = [], opts: { recursive?: boolean; catalog?: Catalog; arches?: string[] } = {}): Promise<Case[]> {
  const catalog = opts.catalog ?? (await loadCatalog());
  const arches = opts.arches ?? [];
  for (const k of kernels) if (!catalog.kernels.has(k)) throw inputError(`--kernel ${k}: unknown kernel (known: ${[...catalog.kernels.keys()].join(', ')})`, 'kernels are defined in kernels/*.yaml; see `ramdax-harness kernel list`');
  for (const a of arches) if (!(ARCHES as readonly string[]).includes(a)) throw inputError(`--arch ${a}: unknown architecture (known: ${ARCHES.join(', ')})`);
  const scenarios = await loadScenarios(paths.length ? paths : ['scenarios'], catalog, opts);
  const all = expand(applyKernels(scenarios, kernels).map((s) => withKernelSettings(s, catalog.kernels.get(s.kernel))));
  checkCaseFolders(all);
  const ofArch = arches.length ? all.filter((c) => arches.includes(c.scenario.machine.arch)) : all;
  if (ofArch.length === 0) throw inputError(`--arch ${arches.join(' ')} matches none of the cases (their architectures: ${[...new Set(all.map((c) => c.scenario.machine.arch))].join(', ')})`);
  const cases = filterCases(ofArch, filters);
  if (cases.length === 0) throw inputError(`--filter ${filters.join(' ')} matches none of: ${ofArch.map((c) => c.id).join(', ')}`);
  // --kernel replaces the scenario's kernel: it must be one for the case's machine.
  for (const k of kernels) {
    const ka: Arch = kernelArch(catalog.kernels.get(k)!);
    const other = cases.find((c) => c.scenario.kernel === k && c.scenario.machine.arch !== ka);
    if (other) throw inputError(`--kernel ${k} is an ${ka} kernel and case '${other.id}' (${other.scenario.file}) has an ${other.scenario.machine.arch} machine`, `pick the cases with --arch ${ka}, or give an ${other.scenario.machine.arch} kernel`);
  }
  return cases;
}

/**
 * Every case gets a results folder of its own, named after its id: too many
 * cases, an id too long for a file name, or two ids with the same folder name
 * (a case would overwrite another's console and repro bundle) are bad input.
 */
export function checkCaseFolders(cases: Case[]): void {
  const at = (c: Case) => ({ file: c.scenario.file, line: 1, col: 1 });
  if (cases.length > MAX_TOTAL_CASES) throw new InputError([{ pos: at(cases[MAX_TOTAL_CASES]!), message: `${cases.length} cases in all, more than ${MAX_TOTAL_CASES} in one run` }]);
  const problems: { pos: ReturnType<typeof at>; message: string }[] = [];
  const seen = new Map<string, Case>();
  for (const c of cases) {
    const folder = safeName(c.id);
    const other = seen.get(folder);
    if (folder.length > MAX_FOLDER_NAME) problems.push({ pos: at(c), message: `case id '${c.id.slice(0, 40)}…' is ${folder.length} characters, more than ${MAX_FOLDER_NAME} for its results folder: use shorter names or axis labels` });
    else if (other) problems.push({ pos: at(c), message: `cases '${other.id}' (${other.scenario.file}) and '${c.id}' would share the results folder ${folder}` });
    else seen.set(folder, c);
  }
  if (problems.length) throw new InputError(problems);
}
