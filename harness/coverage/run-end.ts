import { describeError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { RunResult } from '../results/model.js';
import type { ChangedLines } from './patch-lines.js';
import { buildRunCoverage, coverageRoot, tapComments } from './report.js';

/**
 * The end of a `run --coverage`: the coverage folder is written and its
 * figures (and patch coverage) go into the TAP stream as comments. Coverage
 * is not a verdict: a failure to build it is a warning, the run's results
 * stay as they are.
 */
export async function finishCoverage(run: RunResult, o: { log: Logger; changed?: ChangedLines; tap: (text: string) => void }): Promise<void> {
  const started = Date.now();
  try {
    const s = await buildRunCoverage(run, { log: o.log, changed: o.changed });
    o.tap(`${tapComments(s, coverageRoot(run.dir)).join('\n')}\n`);
    o.log.info(`coverage: ${coverageRoot(run.dir)} written in ${((Date.now() - started) / 1000).toFixed(1)} s${s.complete ? '' : ' (incomplete: some cases lost their counters)'}`);
  } catch (err) {
    o.log.warn(`coverage: no report (${describeError(err)}); the raw counters stay in each case's coverage/ folder`);
    o.tap(`# coverage: not written: ${describeError(err).split('\n')[0]}\n`);
  }
}
