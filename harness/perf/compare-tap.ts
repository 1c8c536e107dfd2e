import { stringify } from 'yaml';
import type { Metric } from '../model/results.js';
import type { Compared, Comparison } from './compare.js';
import { pct, signed } from './judge.js';
import { relativeMad } from './stats.js';
import { metricId } from './metric-id.js';

/**
 * A comparison as TAP 14 (pure), in the style of the run reporter: one point
 * per paired metric. A regression is `not ok` with a YAML diagnostic; an
 * improvement passes with a note; an inconclusive metric is a SKIP (not a
 * pass); unpaired metrics are listed as comments.
 */
export function comparisonTap(c: Comparison, header: { baseline: string; current: string }): string {
  const lines = ['TAP version 14', `# baseline: ${header.baseline}`, `# current:  ${header.current}`];
  lines.push(c.compared.length ? `1..${c.compared.length}` : '1..0 # SKIP no metric of the current run pairs with the baseline');
  c.compared.forEach((x, i) => lines.push(...pointLines(i + 1, x)));
  for (const u of c.unpaired) lines.push(`# unpaired: ${esc(u.caseId)}${u.metric ? ` ${esc(u.metric)}` : ''}: ${esc(u.reason)}`);
  const n = (v: string) => c.compared.filter((x) => x.judgement.verdict === v).length;
  lines.push(`# ${n('regression')} regression(s), ${n('improvement')} improvement(s), ${n('unchanged')} unchanged, ${n('inconclusive')} inconclusive, ${c.unpaired.length} unpaired`);
  return `${lines.join('\n')}\n`;
}

export const hasRegression = (c: Comparison) => c.compared.some((x) => x.judgement.verdict === 'regression');

/**
 * The point name is the metric's stable id (no figures: a history follows it
 * across runs); the verdict and figures are in the YAML diagnostic and, for a
 * regression or an improvement, a `# perf …` comment line after it.
 */
function pointLines(id: number, x: Compared): string[] {
  const j = x.judgement;
  const name = esc(metricId(x.caseId, x.point, x.metric));
  const medians = `${fmt(x.baseline.median)} → ${fmt(x.current.median)} ${x.unit} (${signed(j.change)})`;
  const d = diag(x).map((l) => `  ${l}`);
  switch (j.verdict) {
    case 'regression':
      return [`not ok ${id} - ${name}`, ...d, `# perf regression: ${name} ${medians}`];
    case 'improvement':
      return [`ok ${id} - ${name}`, ...d, `# perf improvement: ${name} ${medians}: ${esc(j.why)}`];
    case 'inconclusive':
      return [`ok ${id} - ${name} # SKIP inconclusive: ${esc(j.why)}`, ...d];
    default:
      return [`ok ${id} - ${name}`, ...d];
  }
}

function side(m: Metric) {
  return { median: round(m.median), spread: pct(m.spread), relativeMad: pct(relativeMad(m.samples)), samples: m.samples.map(round) };
}

function diag(x: Compared): string[] {
  const j = x.judgement;
  const d = {
    verdict: j.verdict,
    message: j.verdict === 'regression' ? `${x.metric} is ${x.better === 'higher' ? 'lower' : 'higher'} than the baseline beyond the noise` : j.why,
    metric: x.metric,
    point: x.point,
    unit: x.unit,
    better: x.better,
    baseline: side(x.baseline),
    current: side(x.current),
    change: signed(j.change),
    threshold: pct(j.threshold),
    noise: pct(j.noise),
    withinBoot: pct(j.withinBoot),
    betweenBoot: `${pct(j.betweenBoot)} (${j.betweenBootSource})`,
    boots: j.boots,
    p: Number(j.p.toFixed(4)),
    key: x.current.key,
  };
  return ['---', ...stringify(d, { lineWidth: 0 }).trimEnd().split('\n'), '...'];
}

const round = (v: number) => Number(v.toPrecision(6));
const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toPrecision(3));
const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/#/g, '\\#').replace(/\s+/g, ' ');
