import type { RunResult } from '../model/results.js';

/** Workflow-command escaping (GitHub Actions toolkit): data and property values. */
const escData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escProp = (s: string) => escData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

/** `::error` annotations, one per failing, erroring or missed point (pure). */
export function githubAnnotations(run: RunResult): string[] {
  const out: string[] = [];
  for (const c of run.cases) {
    for (const p of c.points) {
      if (p.status !== 'fail' && p.status !== 'error' && p.status !== 'miss') continue;
      out.push(`::error file=${escProp(c.file)},title=${escProp(`${c.id}: ${p.name}`)}::${escData(`${p.status}: ${p.reason ?? p.name}`)}`);
    }
  }
  return out;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\s+/g, ' ');

/** A Markdown step summary: counts, then a row per case and the points that did not pass (pure). */
export function githubSummary(run: RunResult): string {
  const k = run.counts;
  const lines = [
    `### ramdax-harness ${run.runId}: ${run.status}`,
    '',
    `${run.cases.length} case(s); points: ${k.pass} passed, ${k.fail} failed, ${k.error} errors, ${k.miss} missed, ${k.skip} skipped`,
    '',
    '| case | status | time | kernel | not passed |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const c of run.cases) {
    const bad = c.points.filter((p) => p.status !== 'pass' && p.status !== 'skip').map((p) => `${p.name} (${p.status})`);
    lines.push(`| ${cell(c.id)} | ${c.status} | ${(c.durationMs / 1000).toFixed(1)} s | ${cell(c.kernel?.release ?? '')} | ${cell(bad.join('; '))} |`);
  }
  return `${lines.join('\n')}\n`;
}
