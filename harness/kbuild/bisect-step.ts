import { describeError, HarnessError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { loadCatalog } from '../catalog/catalog.js';
import type { Case } from '../matrix/case.js';
import type { RunResult } from '../model/results.js';
import { keyPaths, type KeyPaths } from '../setup/keys.js';
import { verdictOf, type Verdict } from './bisect-verdict.js';
import { ensureSourceKernel } from './source-kernel.js';

export interface StepOptions {
  tree: string;
  caseId: string;
  /** A source: kernel definition whose base and fragments are used (its tree and patches are not). */
  kernel: string;
  scenarios: string[];
  cacheDir: string;
  resultsRoot: string;
  qemuBinary: string;
  version: string;
  log: Logger;
}

/**
 * What a step needs from the harness around it, handed in by the CLI:
 * kbuild/ sits below the CLI and the runner and imports neither.
 */
export interface StepDeps {
  /** Scenario paths → checked cases (cli/load-cases.ts). */
  loadCases(paths: string[], filters: string[], kernels: string[]): Promise<Case[]>;
  /** Run cases as `run` does (runner/run.ts). */
  runCases(o: { cases: Case[]; resultsRoot: string; cacheDir: string; keys: KeyPaths; jobs: number; qemuBinary: string; log: Logger; stdout: (text: string) => void; version: string }): Promise<{ run: RunResult }>;
}

/** The kernel name bisect builds and boots under (its own current.json: the user's kernel pointer is untouched). */
export const bisectKernelName = (kernel: string) => `bisect-${kernel}`;

/**
 * One bisect step: build the tree as it is checked out now (cached by
 * revision), boot it, run the one case. Never throws: a build failure or a
 * harness error is a "skip", never "bad".
 */
export async function bisectStep(o: StepOptions, deps: StepDeps): Promise<{ verdict: Verdict; why: string }> {
  let cases;
  try {
    cases = await deps.loadCases(o.scenarios, [o.caseId], [o.kernel]);
  } catch (err) {
    // Bad input is not a property of the commit; the driver checks it before starting.
    return { verdict: 'skip', why: `cannot load case ${o.caseId}: ${describeError(err)}` };
  }
  if (cases.length !== 1) return { verdict: 'skip', why: `--case ${o.caseId} matches ${cases.length} cases (${cases.map((c) => c.id).join(', ')}); name exactly one` };
  try {
    const def = (await loadCatalog()).kernels.get(o.kernel);
    if (!def?.source) throw new HarnessError('input', `--kernel ${o.kernel} is not a source: kernel`);
    const name = bisectKernelName(o.kernel);
    const { artifact, cached } = await ensureSourceKernel({ ...def, name, source: { ...def.source, tree: o.tree, patches: [] } }, o.cacheDir, o.log, {});
    o.log.info(`bisect-step: kernel ${artifact.release} ${cached ? '(cached build)' : 'built'} from ${artifact.source}`);
    const c = { ...cases[0]!, scenario: { ...cases[0]!.scenario, kernel: name } };
    const { run } = await deps.runCases({
      cases: [c],
      resultsRoot: o.resultsRoot,
      cacheDir: o.cacheDir,
      keys: keyPaths(o.cacheDir),
      jobs: 1,
      qemuBinary: o.qemuBinary,
      log: o.log,
      stdout: (t) => process.stderr.write(t),
      version: o.version,
    });
    const r = run.cases[0];
    if (!r) return { verdict: 'skip', why: 'the run recorded no result' };
    return { verdict: verdictOf(r.status), why: `${r.status}${r.reason ? `: ${r.reason}` : ''} (${run.dir})` };
  } catch (err) {
    return { verdict: 'skip', why: describeError(err) };
  }
}
