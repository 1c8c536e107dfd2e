import { titleFor } from '../triage/findings.js';
import { reportLines } from './text.js';
import type { BootTimes, CaseResult, RunResult, Status } from '../results/model.js';
import { esc, fmt, fmtMs } from './escape.js';
import { accelLabel, charts, deltas, keyString, metricRows, type MetricRow } from './metrics.js';
import { BOOT_PHASES, bootBarsSvg, groupedBarsSvg } from './svg.js';
import { REPORT_CSS } from './style.js';
import { coverageSection } from './coverage-section.js';
import type { CoverageSummary } from '../coverage/report.js';

export interface ReportInput {
  run: RunResult;
  baseline?: RunResult;
  /** The run's coverage/summary.json (`run --coverage`). */
  coverage?: CoverageSummary;
}

const badge = (s: Status | string) => `<span class="st st-${esc(s)}">${esc(s)}</span>`;

function runDurationMs(run: RunResult): number | undefined {
  if (!run.endedAt) return undefined;
  return Date.parse(run.endedAt) - Date.parse(run.startedAt);
}

function header(run: RunResult): string {
  const counts = Object.entries(run.counts ?? {})
    .map(([s, n]) => `${badge(s)} ${n}`)
    .join(' ');
  return `<header><h1>ramdax-harness run <code>${esc(run.runId)}</code> ${badge(run.status)}</h1>
<dl class="meta"><dt>started</dt><dd>${esc(run.startedAt)}</dd><dt>duration</dt><dd>${esc(fmtMs(runDurationMs(run)))}</dd>
<dt>cases</dt><dd>${run.cases.length}</dd><dt>test points</dt><dd>${counts}</dd>
<dt>host</dt><dd>${esc(run.host?.cpu)}, ${esc(run.host?.cores)} cores, load ${esc((run.host?.loadavg ?? []).join(' '))}</dd>
<dt>QEMU</dt><dd>${esc(run.qemu ?? '?')}</dd><dt>harness</dt><dd>${esc(run.harness?.version)} on node ${esc(run.harness?.node)}</dd></dl></header>`;
}

function firstProblem(c: CaseResult): string {
  const p = c.points.find((x) => x.status === 'fail' || x.status === 'error');
  return p ? `#${p.id} ${p.name}` : '';
}

function casesTable(run: RunResult): string {
  const rows = run.cases.map(
    (c) => `<tr class="case-row row-${esc(c.status)}" id="row-${esc(c.id)}"><td><a href="#case-${esc(c.id)}">${esc(c.id)}</a></td><td>${badge(c.status)}</td><td>${esc(c.reason ?? '')}${firstProblem(c) ? `<br><small>at ${esc(firstProblem(c))}</small>` : ''}</td><td class="n">${esc(fmtMs(c.durationMs))}</td><td>${esc(c.kernel?.release ?? '–')}</td><td>${esc(accelLabel(c) || '–')}</td><td class="n">${c.points.filter((p) => p.status === 'pass').length}/${c.points.length}</td><td class="n">${c.points.reduce((n, p) => n + (p.findings?.length ?? 0), 0)}</td></tr>`,
  );
  return `<section id="cases"><h2>Cases</h2><table class="cases"><thead><tr><th>case</th><th>status</th><th>reason</th><th>duration</th><th>kernel</th><th>accel</th><th>points passed</th><th>findings</th></tr></thead><tbody>
${rows.join('\n')}</tbody></table></section>`;
}

function caseDetails(c: CaseResult): string {
  const findings = c.points.flatMap((p) => (p.findings ?? []).map((f) => ({ p, f })));
  const fhtml = findings.length
    ? `<ul class="findings">${findings
        .map(({ p, f }) => `<li class="finding"><b>${esc(f.type)}</b>: ${esc(f.title)} <small>(during #${p.id} ${esc(p.name)})</small> — <i>${esc(titleFor(f))}</i><pre>${esc(f.symbolized?.length ? reportLines(f).join('\n') : [...(f.context?.length ? f.context : [f.line])].join('\n'))}</pre></li>`)
        .join('')}</ul>`
    : '<p class="none">No kernel findings.</p>';
  const points = c.points
    .map((p) => `<tr class="point-row row-${esc(p.status)}"><td class="n">${p.id}</td><td>${esc(p.name)}</td><td>${badge(p.status)}</td><td class="n">${esc(fmtMs(p.durationMs))}</td><td>${esc(p.reason ?? '')}</td></tr>`)
    .join('');
  const meta = [
    ['scenario', `${c.scenario} (${c.file})`],
    ['kernel', c.kernel ? `${c.kernel.release} [${c.kernel.name}], ramdax ${c.kernel.ramdax}` : '–'],
    ['image', c.image?.name ?? '–'],
    ['accel', c.accel ? `${c.accel.accel}: ${c.accel.reason}` : '–'],
    ['cmdline', c.cmdline ?? '–'],
    ['files', Object.entries(c.files ?? {}).map(([k, v]) => `${k}: ${v}`).join(', ') || '–'],
  ]
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`)
    .join('');
  return `<section class="case" id="case-${esc(c.id)}"><h3>${esc(c.id)} ${badge(c.status)}</h3><dl class="meta">${meta}</dl>
<h4>Findings</h4>${fhtml}
<details${c.status === 'pass' ? '' : ' open'}><summary>${c.points.length} test points</summary><table class="points"><thead><tr><th>#</th><th>point</th><th>status</th><th>duration</th><th>reason</th></tr></thead><tbody>${points}</tbody></table></details></section>`;
}

/** Boots to chart: each case's first boot, and any warm reboot a step recorded (details.secondBoot). */
export function bootsOf(run: RunResult): { id: string; boot: BootTimes }[] {
  const out: { id: string; boot: BootTimes }[] = [];
  for (const c of run.cases) {
    out.push({ id: c.id, boot: c.boot ?? {} });
    for (const p of c.points) {
      const second = p.details?.secondBoot;
      if (second && typeof second === 'object') out.push({ id: `${c.id} (after #${p.id} reboot)`, boot: second as BootTimes });
    }
  }
  return out;
}

function bootSection(run: RunResult): string {
  const boots = bootsOf(run);
  const any = boots.some((b) => BOOT_PHASES.some((p) => b.boot[p.key] !== undefined));
  if (!any) return '<section id="boot"><h2>Boot times</h2><p class="none">No boot timings recorded.</p></section>';
  const rows = boots
    .map((b) => `<tr><td>${esc(b.id)}</td>${BOOT_PHASES.map((p) => `<td class="n">${esc(fmtMs(b.boot[p.key]))}</td>`).join('')}</tr>`)
    .join('');
  return `<section id="boot"><h2>Boot times</h2><p>Host time from QEMU start to each milestone.</p>${bootBarsSvg(boots)}
<table class="boot"><thead><tr><th>VM</th>${BOOT_PHASES.map((p) => `<th>${esc(p.label)}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table></section>`;
}

function perfSection(rows: MetricRow[]): string {
  if (rows.length === 0) return '<section id="perf"><h2>Performance</h2><p class="none">No metrics in this run.</p></section>';
  const parts = charts(rows).map((ch) => {
    const table = ch.groups
      .flatMap((g) => g.bars.map((b) => `<tr><td>${esc(g.label)}</td><td>${esc(b.series)}</td><td class="n">${esc(fmt(b.median))}</td><td class="n">${esc(fmt(b.row.spread * 100))} %</td><td class="n">${b.samples}</td><td>${esc(b.row.caseId)}</td></tr>`))
      .join('');
    return `<figure class="metric"><figcaption><b>${esc(ch.name)}</b> — ${esc(ch.unit)}, ${esc(ch.better)} is better; bar = median, whisker = min–max of the samples</figcaption>${groupedBarsSvg(ch)}
<details><summary>figures</summary><table class="perf"><thead><tr><th>workload</th><th>series</th><th>median</th><th>spread</th><th>samples</th><th>case</th></tr></thead><tbody>${table}</tbody></table></details></figure>`;
  });
  return `<section id="perf"><h2>Performance</h2>${parts.join('\n')}</section>`;
}

function caseDeltas(now: CaseResult[], baseline: RunResult): string {
  const ids = [...new Set([...baseline.cases.map((c) => c.id), ...now.map((c) => c.id)])];
  const rows = ids.map((id) => {
    const b = baseline.cases.find((c) => c.id === id);
    const n = now.find((c) => c.id === id);
    const changed = b && n && b.status !== n.status ? ' class="changed"' : '';
    return `<tr${changed}><td>${esc(id)}</td><td>${b ? badge(b.status) : '<i>absent</i>'}</td><td>${n ? badge(n.status) : '<i>absent</i>'}</td><td class="n">${esc(fmtMs(b?.durationMs))} → ${esc(fmtMs(n?.durationMs))}</td><td class="n">${esc(fmtMs(b?.boot?.firstCommandMs))} → ${esc(fmtMs(n?.boot?.firstCommandMs))}</td></tr>`;
  });
  return `<table class="case-deltas"><thead><tr><th>case</th><th>baseline</th><th>now</th><th>duration then → now</th><th>first command then → now</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function baselineSection(run: RunResult, rows: MetricRow[], baseline: RunResult): string {
  const { pairs, unmatched } = deltas(rows, metricRows(baseline));
  const body = pairs
    .map(
      (d) =>
        `<tr class="delta-${d.verdict}"><td>${esc(d.row.caseId)}</td><td>${esc(d.row.name)}</td><td>${esc(keyString(d.row.key))}</td><td class="n">${esc(fmt(d.base.median))}</td><td class="n">${esc(fmt(d.row.median))}</td><td class="n">${d.change >= 0 ? '+' : ''}${esc(fmt(d.change * 100))} %</td><td>${esc(d.verdict)}</td></tr>`,
    )
    .join('');
  return `<section id="baseline"><h2>Against baseline <code>${esc(baseline.runId)}</code></h2>${caseDeltas(run.cases, baseline)}
${pairs.length ? `<table class="deltas"><thead><tr><th>case</th><th>metric</th><th>key</th><th>baseline</th><th>now</th><th>change</th><th>verdict</th></tr></thead><tbody>${body}</tbody></table>` : '<p class="none">No metric pairs with the baseline.</p>'}
<p>${pairs.length} metric(s) paired; ${unmatched.length} without a baseline counterpart. "same" means the change is within the larger relative spread (max−min)/median of the two.</p></section>`;
}

/** The whole report: one self-contained HTML document (inline CSS and SVG, no scripts, no external resources). */
export function renderReport({ run, baseline, coverage }: ReportInput): string {
  const rows = metricRows(run);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ramdax-harness ${esc(run.runId)} (${esc(run.status)})</title><style>${REPORT_CSS}</style></head>
<body>${header(run)}
<nav><a href="#cases">cases</a> · <a href="#boot">boot times</a> · <a href="#perf">performance</a>${baseline ? ' · <a href="#baseline">baseline</a>' : ''}${coverage ? ' · <a href="#coverage">coverage</a>' : ''} · <a href="#details">per case</a> · files: <a href="metrics.csv">metrics.csv</a>, <a href="metrics.json">metrics.json</a>, <a href="results.json">results.json</a></nav>
${casesTable(run)}
${bootSection(run)}
${perfSection(rows)}
${baseline ? baselineSection(run, rows, baseline) : ''}
${coverageSection(coverage)}
<section id="details"><h2>Per case</h2>${run.cases.map(caseDetails).join('\n')}</section>
</body></html>
`;
}
