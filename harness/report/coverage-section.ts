import type { CoverageSummary } from '../coverage/report.js';
import { ranges } from '../coverage/tracefile.js';
import { esc } from './escape.js';

type Fig = { hit: number; found: number; percent: number | null };
const cell = (f: Fig) => `<td class="num">${f.percent === null ? '–' : `${f.percent}%`}</td><td class="num">${f.hit}/${f.found}</td>`;

/** The coverage section of report.html: totals per folder, per file, per case, patch coverage, links to genhtml's view. */
export function coverageSection(s: CoverageSummary | undefined): string {
  if (!s) return '';
  const groups = s.groups.map((g) => `<tr><th>${esc(g.name)}</th>${cell(g.figures.lines)}${cell(g.figures.functions)}${cell(g.figures.branches)}</tr>`).join('');
  const files = s.files.map((f) => `<tr><td><code>${esc(f.file)}</code></td>${cell(f.lines)}${cell(f.functions)}${cell(f.branches)}</tr>`).join('');
  const cases = s.cases
    .map((c) => `<tr><td>${esc(c.id)}</td><td>${c.segments}</td><td>${c.complete ? 'complete' : `<strong>incomplete</strong>: ${esc(c.lost.join('; '))}`}</td>${c.ramdax ? cell(c.ramdax.lines) : '<td>–</td><td>–</td>'}</tr>`)
    .join('');
  const patch = s.patch
    ? `<h3>Patch coverage</h3><p><strong>${esc(s.patch.summary)}</strong></p><table class="coverage"><thead><tr><th>file</th><th>changed lines</th><th>code</th><th>ran</th><th>not run</th></tr></thead><tbody>${s.patch.files
        .map((f) => `<tr><td><code>${esc(f.file)}</code></td><td>${esc(ranges(f.changed))}</td><td class="num">${f.profiled ? f.executable.length : 'not profiled'}</td><td class="num">${f.ran.length}</td><td>${esc(ranges(f.notRun))}</td></tr>`)
        .join('')}</tbody></table>`
    : '';
  return `<section id="coverage"><h2>Coverage</h2>
<p>gcov counters of drivers/nvdimm and drivers/dax collected from the guest before every power-off, reboot and shared-boot hand-over (kernel${s.kernels.length === 1 ? '' : 's'} ${s.kernels.map((k) => `<code>${esc(k.name)}</code>`).join(', ')}).${s.complete ? '' : ' <strong>Incomplete: some cases lost their counters (a panic or hang before collection); the figures are a lower bound.</strong>'}
Files: <a href="coverage/html/index.html">annotated sources (genhtml, per-case details)</a>, <a href="coverage/coverage.info">coverage.info</a>, <a href="coverage/summary.json">summary.json</a>, <a href="coverage/cases.json">cases.json</a> (which cases ran each line).</p>
<table class="coverage"><thead><tr><th></th><th colspan="2">lines</th><th colspan="2">functions</th><th colspan="2">branches</th></tr></thead><tbody>${groups}</tbody></table>
${s.ramdaxNotRun !== undefined ? `<p>ramdax.c lines not run: <code>${esc(s.ramdaxNotRun || 'none')}</code></p>` : ''}
${patch}
<details><summary>${s.files.length} files</summary><table class="coverage"><thead><tr><th>file</th><th colspan="2">lines</th><th colspan="2">functions</th><th colspan="2">branches</th></tr></thead><tbody>${files}</tbody></table></details>
<details><summary>${s.cases.length} cases</summary><table class="coverage"><thead><tr><th>case</th><th>segments</th><th>counters</th><th colspan="2">ramdax.c lines</th></tr></thead><tbody>${cases}</tbody></table></details>
</section>`;
}
