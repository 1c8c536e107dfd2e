import type { History, MetricHistory } from '../results/history.js';
import { esc, fmt, num } from './escape.js';
import { REPORT_CSS } from './style.js';

const VERDICT_COLOR = { regression: '#D55E00', improvement: '#009E73', unchanged: '#0072B2', inconclusive: '#999999' } as const;
const STATUS_CLASS = { pass: 'pass', fail: 'fail', error: 'error', miss: 'miss', skip: 'skip' } as const;

/** One metric over the runs: a line of medians, each point coloured by its verdict (pure SVG). */
export function trendSvg(m: MetricHistory, labels: string[]): string {
  const W = 560;
  const H = 160;
  const L = 56;
  const B = 24;
  const vals = m.medians.filter((v): v is number => v !== undefined);
  const lo = Math.min(...vals, 0);
  const hi = Math.max(...vals) || 1;
  const x = (i: number) => L + (labels.length <= 1 ? 0 : (i * (W - L - 12)) / (labels.length - 1));
  const y = (v: number) => H - B - ((v - lo) / (hi - lo || 1)) * (H - B - 12);
  const pts = m.medians.map((v, i) => (v === undefined ? undefined : { i, v }));
  const path = pts.filter((p) => p).map((p, k) => `${k ? 'L' : 'M'}${num(x(p!.i))},${num(y(p!.v))}`).join(' ');
  const dots = pts
    .filter((p) => p)
    .map((p) => {
      const verdict = m.verdicts[p!.i];
      const color = verdict ? VERDICT_COLOR[verdict] : '#000000';
      return `<circle class="point" data-run="${p!.i + 1}" data-verdict="${verdict ?? 'first'}" cx="${num(x(p!.i))}" cy="${num(y(p!.v))}" r="4" fill="${color}"><title>${esc(`${labels[p!.i]}: ${fmt(p!.v)} ${m.unit}${verdict ? ` — ${verdict}: ${m.why[p!.i] ?? ''}` : ''}`)}</title></circle>`;
    })
    .join('');
  const axis = `<line x1="${L}" y1="${H - B}" x2="${W - 6}" y2="${H - B}" stroke="#888"/><text x="${L - 4}" y="${num(y(hi))}" text-anchor="end" font-size="10">${esc(fmt(hi))}</text><text x="${L - 4}" y="${H - B}" text-anchor="end" font-size="10">${esc(fmt(lo))}</text>`;
  const ticks = labels.map((_, i) => `<text x="${num(x(i))}" y="${H - 8}" text-anchor="middle" font-size="10">${i + 1}</text>`).join('');
  return `<svg class="trend" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(m.id)}">${axis}${ticks}<path d="${path}" fill="none" stroke="#0072B2" stroke-width="1.5"/>${dots}</svg>`;
}

/** history.html: self-contained, the status table and a trend plot per metric. */
export function historyHtml(h: History): string {
  const labels = h.runs.map((r) => r.runId);
  const head = `<tr><th>case</th>${h.runs.map((r, i) => `<th title="${esc(r.runId)}">[${i + 1}]</th>`).join('')}<th>since</th></tr>`;
  const rows = h.cases
    .map((c) => `<tr><td>${esc(c.id)}</td>${c.statuses.map((s) => `<td class="${s ? STATUS_CLASS[s] : 'absent'}">${esc(s ?? '–')}</td>`).join('')}<td>${c.failingSince ? `failing since ${esc(c.failingSince)}${c.lastPass ? ` (last pass ${esc(c.lastPass)})` : ''}` : ''}</td></tr>`)
    .join('\n');
  const plots = h.metrics.map((m) => `<section class="metric"><h3>${esc(m.id)} <small>${esc(m.unit)}, ${m.better} is better</small></h3>${trendSvg(m, labels)}</section>`).join('\n');
  const runs = h.runs.map((r, i) => `<li>[${i + 1}] ${esc(r.runId)} — ${esc(r.status)} (${esc(r.startedAt)})</li>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ramdax-harness history (${h.runs.length} runs)</title><style>${REPORT_CSS}
td.pass{color:#009E73} td.fail,td.error,td.miss{color:#D55E00;font-weight:bold} td.absent{color:#999}</style></head>
<body><h1>History of ${h.runs.length} run(s)</h1><ol class="runs">${runs}</ol>
<h2>Case status per run</h2><table id="status">${head}
${rows}</table>
<h2>Metrics</h2><p>Median per run; each point is judged against up to 3 earlier runs (noise-aware, as <code>compare</code>): <span style="color:${VERDICT_COLOR.regression}">● regression</span> <span style="color:${VERDICT_COLOR.improvement}">● improvement</span> <span style="color:${VERDICT_COLOR.unchanged}">● unchanged</span> <span style="color:${VERDICT_COLOR.inconclusive}">● inconclusive</span> ● first/not comparable</p>
${plots || '<p>No metrics in these runs.</p>'}
</body></html>
`;
}
