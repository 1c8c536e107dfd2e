import { printable } from '../common/printable.js';
import { stringify } from 'yaml';
import { formatDuration } from '../common/units.js';
import type { CaseResult, PointResult, RunResult } from '../model/results.js';
import type { PlannedCase, Reporter } from './reporter.js';

const IND = '    ';

/** The TAP line and YAML diagnostic of one test point (pure). */
export function pointLines(p: PointResult): string[] {
  const name = escapeName(p.name);
  const time = `time=${formatDuration(p.durationMs)}`;
  const lines: string[] = [];
  const sub = p.subtap?.trim();
  if (sub) {
    lines.push(`# Subtest: ${name}`);
    // A guest's `Bail out!` must not end the whole run's TAP: it becomes a comment.
    for (const l of sub.split('\n')) if (!/^TAP version/.test(l)) lines.push(`${IND}${l.replace(/^(\s*)Bail out!/, '$1# Bail out!')}`);
  }
  const flaky = p.details?.flakyBoot as { attempt: number; reason: string }[] | undefined;
  for (const f of flaky ?? []) lines.push(`# flaky boot: attempt ${f.attempt} failed: ${oneLine(f.reason)}`);
  switch (p.status) {
    case 'pass':
      lines.push(`ok ${p.id} - ${name} # ${time}`);
      break;
    case 'skip':
      lines.push(`ok ${p.id} - ${name} # SKIP ${oneLine(p.reason ?? 'skipped')}`);
      break;
    case 'miss':
      // A failure to every TAP consumer (no SKIP/TODO directive): a step that never ran is not a skipped one.
      lines.push(`not ok ${p.id} - ${name} # miss: ${oneLine(p.reason ?? 'not run')}`);
      break;
    case 'fail':
      lines.push(`not ok ${p.id} - ${name} # ${time}`);
      break;
    case 'error':
      lines.push(`not ok ${p.id} - ${name} # error: ${oneLine(p.reason ?? 'harness error')}`);
      break;
  }
  if (p.status === 'fail' || p.status === 'error') lines.push(...diagnostic(p).map((l) => `  ${l}`));
  return lines;
}

/** The YAML block under a failing point: reason, failing command, its stderr, kernel findings and log. */
export function diagnostic(p: PointResult): string[] {
  const last = p.commands?.at(-1);
  const diag: Record<string, unknown> = { status: p.status, message: p.reason ?? '' };
  if (last) {
    diag.command = last.command;
    diag.exit = last.exitCode;
    if (last.signal) diag.signal = last.signal;
    if (last.stderr.trim()) diag.stderr = tailText(last.stderr, 20);
    if (last.stdout.trim() && p.status === 'fail') diag.stdout = tailText(last.stdout, 10);
  }
  if (p.findings?.length) diag.findings = p.findings.map((f) => ({ type: f.type, title: f.title, log: f.context.join('\n') }));
  if (p.dmesg?.length) diag.dmesg = tailText(p.dmesg.join('\n'), 30);
  if (p.details && Object.keys(p.details).length) diag.details = p.details;
  return ['---', ...stringify(diag, { lineWidth: 0 }).trimEnd().split('\n'), '...'];
}

function tailText(s: string, n: number): string {
  return s.trimEnd().split('\n').slice(-n).join('\n');
}

const oneLine = (s: string) => printable(s.replace(/\s+/g, ' ').replace(/#/g, '\\#').trim());
const escapeName = (s: string) => printable(s.replace(/\\/g, '\\\\').replace(/#/g, '\\#').replace(/\s+/g, ' '));

/**
 * TAP version 14: one subtest per case, one point per boot/step/shutdown.
 * Points are streamed while a case runs; when cases run in parallel, one case
 * streams and the others are held back and printed whole when they end.
 */
export class TapReporter implements Reporter {
  private live: string | undefined;
  private readonly held = new Map<string, { lines: string[]; done: boolean }>();
  private index = 0;
  private readonly caseIndex = new Map<string, number>();

  constructor(private readonly write: (text: string) => void) {}

  onRunBegin(_run: RunResult, cases: PlannedCase[]): void {
    this.write(`TAP version 14\n1..${cases.length}\n`);
  }

  onCaseBegin(c: PlannedCase): void {
    this.caseIndex.set(c.id, ++this.index);
    this.held.set(c.id, { lines: [], done: false });
    if (this.live === undefined) this.live = c.id;
    this.emit(c.id, [`# Subtest: ${escapeName(c.id)}`]);
  }

  onPoint(c: PlannedCase, p: PointResult): void {
    this.emit(c.id, pointLines(p).map((l) => IND + l));
  }

  onCaseEnd(c: PlannedCase, r: CaseResult): void {
    const n = this.caseIndex.get(c.id)!;
    const ok = r.status === 'pass' || r.status === 'skip';
    const directive = r.status === 'skip' ? ` # SKIP ${oneLine(r.reason ?? 'skipped')}` : ` # time=${formatDuration(r.durationMs)}`;
    this.emit(c.id, [`${IND}1..${r.points.length}`, `${ok ? 'ok' : 'not ok'} ${n} - ${escapeName(c.id)}${directive}`]);
    this.held.get(c.id)!.done = true;
    if (this.live === c.id) this.promote();
  }

  private emit(id: string, lines: string[]): void {
    if (this.live === id) this.write(lines.map((l) => `${l}\n`).join(''));
    else this.held.get(id)!.lines.push(...lines);
  }

  /** The live case ended: print finished held cases, then let a running one go live. */
  private promote(): void {
    this.held.delete(this.live!);
    this.live = undefined;
    for (const [id, h] of [...this.held]) {
      if (!h.done) continue;
      this.write(h.lines.map((l) => `${l}\n`).join(''));
      this.held.delete(id);
    }
    const next = [...this.held.keys()][0];
    if (next !== undefined) {
      this.live = next;
      const h = this.held.get(next)!;
      this.write(h.lines.map((l) => `${l}\n`).join(''));
      h.lines = [];
    }
  }
}
