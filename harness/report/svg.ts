import { esc, fmt, fmtMs, num } from './escape.js';
import type { Chart } from './metrics.js';
import type { BootTimes } from '../model/results.js';

/** Colour-blind friendly palette (Okabe–Ito), one per series in order. */
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];

/** A "nice" axis maximum (1, 2, 2.5, 5 × 10^n) at or above `v`. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * Grouped vertical bars: one group per workload, one bar per series at its
 * median, a whisker from the smallest to the largest sample.
 */
export function groupedBarsSvg(chart: Chart): string {
  const barW = 22;
  const gap = 18;
  const left = 64;
  const top = 16;
  const plotH = 180;
  const labelH = 30;
  const legendH = 18 * chart.series.length + 8;
  const groupW = (g: { bars: unknown[] }) => g.bars.length * barW + gap;
  const plotW = chart.groups.reduce((s, g) => s + groupW(g), gap);
  const width = left + Math.max(plotW, 220) + 16;
  const height = top + plotH + labelH + legendH;
  const max = niceMax(Math.max(...chart.groups.flatMap((g) => g.bars.map((b) => Math.max(b.max, b.median))), 0));
  const y = (v: number) => top + plotH - (Math.max(v, 0) / max) * plotH;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" class="chart bars" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(`${chart.name} (${chart.unit}, ${chart.better} is better)`)}">`);
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    parts.push(`<line class="grid" x1="${left}" x2="${left + plotW}" y1="${num(y(v))}" y2="${num(y(v))}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 6}" y="${num(y(v) + 4)}" text-anchor="end" font-size="11">${esc(fmt(v))}</text>`);
  }
  parts.push(`<text x="12" y="${top + plotH / 2}" font-size="11" transform="rotate(-90 12 ${top + plotH / 2})" text-anchor="middle">${esc(chart.unit)}</text>`);
  let x = left + gap;
  for (const g of chart.groups) {
    const gx = x;
    for (const b of g.bars) {
      const color = PALETTE[chart.series.indexOf(b.series) % PALETTE.length];
      const title = `${b.series}: median ${fmt(b.median)} ${chart.unit}, ${b.samples} sample(s), min ${fmt(b.min)}, max ${fmt(b.max)} (${b.row.caseId})`;
      parts.push(`<g class="bar"><title>${esc(title)}</title><rect x="${num(x)}" y="${num(y(b.median))}" width="${barW - 4}" height="${num(top + plotH - y(b.median))}" fill="${color}"/>`);
      if (b.max > b.min) {
        const cx = x + (barW - 4) / 2;
        parts.push(`<path class="whisker" d="M${num(cx)} ${num(y(b.min))}V${num(y(b.max))}M${num(cx - 4)} ${num(y(b.min))}h8M${num(cx - 4)} ${num(y(b.max))}h8" stroke="#222" fill="none"/>`);
      }
      parts.push('</g>');
      x += barW;
    }
    // Labels are cut to their group's width (about 6 px a character at 11 px).
    const room = Math.max(4, Math.floor((x - gx + gap - 4) / 6));
    const label = g.label.length > room ? `${g.label.slice(0, room - 1)}…` : g.label;
    parts.push(`<text x="${num((gx + x - 4) / 2)}" y="${top + plotH + 14}" font-size="11" text-anchor="middle"><title>${esc(g.label)}</title>${esc(label)}</text>`);
    x += gap;
  }
  parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>`);
  chart.series.forEach((s, i) => {
    const ly = top + plotH + labelH + i * 18;
    parts.push(`<rect x="${left}" y="${ly}" width="12" height="12" fill="${PALETTE[i % PALETTE.length]}"/><text x="${left + 18}" y="${ly + 10}" font-size="12">${esc(s)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

export const BOOT_PHASES: { key: keyof BootTimes; label: string }[] = [
  { key: 'kernelStartedMs', label: 'kernel start' },
  { key: 'initStartedMs', label: 'init' },
  { key: 'sshdStartedMs', label: 'sshd' },
  { key: 'sshReadyMs', label: 'SSH ready' },
  { key: 'firstCommandMs', label: 'first command' },
];

/**
 * One horizontal bar per VM, split into the phases between QEMU start and the
 * first command; phases a boot did not reach are left out.
 */
export function bootBarsSvg(boots: { id: string; boot: BootTimes }[]): string {
  const left = 250;
  const plotW = 520;
  const rowH = 22;
  const top = 24;
  const rows = boots.filter((b) => BOOT_PHASES.some((p) => b.boot[p.key] !== undefined));
  const max = niceMax(Math.max(0, ...rows.flatMap((b) => BOOT_PHASES.map((p) => b.boot[p.key] ?? 0))));
  const x = (ms: number) => left + (ms / max) * plotW;
  const height = top + rows.length * rowH + 40;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" class="chart boot" width="${left + plotW + 20}" height="${height}" viewBox="0 0 ${left + plotW + 20} ${height}" role="img" aria-label="boot phases per VM">`];
  for (let i = 0; i <= 5; i++) {
    const v = (max * i) / 5;
    parts.push(`<line x1="${num(x(v))}" x2="${num(x(v))}" y1="${top - 4}" y2="${top + rows.length * rowH}" stroke="#ddd"/><text x="${num(x(v))}" y="${top - 8}" font-size="11" text-anchor="middle">${esc(fmtMs(v))}</text>`);
  }
  rows.forEach((b, r) => {
    const ry = top + r * rowH;
    const name = b.id.length > 34 ? `${b.id.slice(0, 33)}…` : b.id;
    parts.push(`<text x="${left - 6}" y="${ry + 15}" font-size="12" text-anchor="end"><title>${esc(b.id)}</title>${esc(name)}</text>`);
    let from = 0;
    BOOT_PHASES.forEach((p, i) => {
      const at = b.boot[p.key];
      if (at === undefined) return;
      const w = Math.max(x(at) - x(from), 0);
      parts.push(`<rect class="phase" x="${num(x(from))}" y="${ry + 3}" width="${num(w)}" height="${rowH - 6}" fill="${PALETTE[i]}"><title>${esc(`${b.id}: ${p.label} at ${fmtMs(at)} (+${fmtMs(at - from)})`)}</title></rect>`);
      from = at;
    });
  });
  const ly = top + rows.length * rowH + 14;
  BOOT_PHASES.forEach((p, i) => {
    const lx = left + i * 104;
    parts.push(`<rect x="${lx}" y="${ly}" width="12" height="12" fill="${PALETTE[i]}"/><text x="${lx + 16}" y="${ly + 10}" font-size="11">${esc(`→ ${p.label}`)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}
