import { execa } from 'execa';
import { join } from 'node:path';
import { HarnessError, inputError } from '../common/errors.js';
import { host } from '../common/exec.js';
import { exists, writeFileAtomic } from '../common/fs.js';
import { projectRoot } from '../common/paths.js';
import { confirmed, describeConfirmation, parseBisectOutput, type Confirmation } from './bisect-verdict.js';
import { bisectStep, type StepDeps, type StepOptions } from './bisect-step.js';

export interface BisectOptions extends StepOptions {
  good: string;
  bad: string;
  /** Runs of the culprit (must all fail) and of its parent (must all pass). */
  confirmRuns: number;
}

export interface BisectResult {
  culprit: string;
  subject: string;
  confirmation: Confirmation;
  confirmed: boolean;
}

const git = (tree: string, args: string[]) => host('git', ['-C', tree, ...args]);

/**
 * `git bisect start BAD GOOD` + `git bisect run` in the user's tree, each
 * step calling back into the harness (`bisect-step`), then a confirmation:
 * the culprit must fail and its parent pass `confirmRuns` times each. The
 * tree is always restored with `git bisect reset`.
 */
export async function bisect(o: BisectOptions, deps: StepDeps): Promise<BisectResult> {
  if (!(await exists(join(o.tree, '.git')))) throw inputError(`--tree ${o.tree} is not a git tree`);
  const dirty = (await git(o.tree, ['status', '--porcelain', '--untracked-files=no'])).stdout.trim();
  if (dirty) throw inputError(`--tree ${o.tree} has uncommitted changes: bisect checks out other revisions, commit or stash them first`);
  if (await exists(join(o.tree, '.git', 'BISECT_LOG'))) throw inputError(`--tree ${o.tree} is already bisecting (run \`git bisect reset\` there first)`);
  const good = (await git(o.tree, ['rev-parse', '--verify', `${o.good}^{commit}`]).catch(() => { throw inputError(`--good ${o.good}: not a commit in ${o.tree}`); })).stdout.trim();
  const bad = (await git(o.tree, ['rev-parse', '--verify', `${o.bad}^{commit}`]).catch(() => { throw inputError(`--bad ${o.bad}: not a commit in ${o.tree}`); })).stdout.trim();

  await git(o.tree, ['bisect', 'start', bad, good]);
  try {
    // git bisect run reads any exit status from 1 to 127 but 125 as "bad": the wrapper maps
    // anything but 0, 1 and 125 (a harness crash, a bad flag) to 125, "cannot test".
    const wrapper = join(o.cacheDir, 'bisect-step.sh');
    await writeFileAtomic(wrapper, '#!/bin/sh\n"$@"\nrc=$?\ncase $rc in 0|1|125) exit $rc ;; *) echo "bisect-step: exit $rc, counted as skip" >&2; exit 125 ;; esac\n');
    const script = [
      'sh', wrapper, process.execPath, join(projectRoot, 'bin', 'ramdax-harness.js'), 'bisect-step',
      '--tree', o.tree, '--case', o.caseId, '--kernel', o.kernel, '--cache', o.cacheDir,
      '--results', o.resultsRoot, '--qemu', o.qemuBinary, ...o.scenarios.flatMap((s) => ['--scenario', s]),
    ];
    o.log.step(`bisect: git bisect run between good ${good.slice(0, 12)} and bad ${bad.slice(0, 12)} (case ${o.caseId}, kernel config of ${o.kernel})`);
    const run = await execa('git', ['-C', o.tree, 'bisect', 'run', ...script], { reject: false, all: true, stdin: 'ignore', buffer: true, stderr: ['pipe', 'inherit'] });
    const out = String(run.all ?? '');
    const parsed = parseBisectOutput(out);
    if ('problem' in parsed) throw new HarnessError('infra', `bisect: ${parsed.problem}`);
    const culprit = parsed.culprit;
    const subject = (await git(o.tree, ['show', '-s', '--format=%s', culprit])).stdout.trim();
    o.log.step(`bisect: first bad commit ${culprit.slice(0, 12)} ${subject}; confirming (${o.confirmRuns} runs each of it and its parent)`);
    const parent = (await git(o.tree, ['rev-parse', `${culprit}^`])).stdout.trim();
    const confirmation: Confirmation = { culprit, parent, culpritBad: 0, parentGood: 0, runs: o.confirmRuns };
    for (const [rev, want] of [[culprit, 'bad'], [parent, 'good']] as const) {
      await git(o.tree, ['checkout', '-q', '--detach', rev]);
      for (let i = 1; i <= o.confirmRuns; i++) {
        const r = await bisectStep(o, deps);
        o.log.info(`bisect: confirm ${rev.slice(0, 12)} run ${i}/${o.confirmRuns}: ${r.verdict} (${r.why})`);
        if (r.verdict === want) {
          if (want === 'bad') confirmation.culpritBad++;
          else confirmation.parentGood++;
        }
      }
    }
    o.log.info(`bisect: ${describeConfirmation(confirmation)}`);
    return { culprit, subject, confirmation, confirmed: confirmed(confirmation) };
  } finally {
    await git(o.tree, ['bisect', 'reset']).catch((err: unknown) => o.log.warn(`git bisect reset failed in ${o.tree}: ${String(err)}`));
  }
}
