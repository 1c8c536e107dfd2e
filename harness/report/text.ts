/**
 * report.txt (pure): what a developer pastes into a reply on a kernel list.
 * Plain text, at most 80 columns, one block per distinct failure —
 * deduplicated by the crash title (syzbot's form), or for a failure without a
 * kernel finding by its failing step — with the kernel's release and
 * identity, its command line, the failing step and command, the report with
 * file:line per frame when it was symbolized, and the one command that
 * reproduces it. No host paths: only paths relative to the run folder.
 */
import { titleFor, type Finding } from '../triage/findings.js';
import type { CaseResult, PointResult, RunResult } from '../model/results.js';

export const WIDTH = 80;

const TIMESTAMP = /^\s*(<\d+>)?\s*\[\s*\d+\.\d+\]\s?/;

/** Break a line at spaces (or hard, when a word is too long) into lines of at most `width`, continuations indented. */
export function wrap(line: string, width = WIDTH, indent = '  '): string[] {
  const out: string[] = [];
  let rest = line.replace(/\t/g, '  ').replace(/\s+$/, '');
  while (rest.length > width) {
    let cut = rest.lastIndexOf(' ', width);
    if (cut <= indent.length + 8) cut = width;
    out.push(rest.slice(0, cut).replace(/\s+$/, ''));
    rest = indent + rest.slice(cut).replace(/^\s+/, '');
  }
  out.push(rest);
  return out;
}

/** A frame line with its source lines, syzbot-style: inlined callees first, marked [inline]; RIP lines keep their prefix. */
function frameLines(f: Finding): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const s of f.symbolized ?? []) {
    if (!s.locations.length) continue;
    const outer = s.locations.at(-1)!;
    const rip = /^(RIP: \w+:)/.exec(s.frame)?.[1];
    const inl = s.locations.slice(0, -1).map((l) => `${rip ?? ' '}${l.fn} ${l.file}:${l.line} [inline]`);
    map.set(s.frame, [...inl, `${rip ? '' : ' '}${s.frame} ${outer.file}:${outer.line}`]);
  }
  return map;
}

/** The finding's report as it goes into the mail: no timestamps, no `Code:` bytes, frames with file:line. */
export function reportLines(f: Finding): string[] {
  const sym = frameLines(f);
  const out: string[] = [];
  for (const raw of f.report ?? f.context) {
    const text = raw.replace(TIMESTAMP, '').replace(/\r$/, '');
    if (/^\s*Code: /.test(text)) continue;
    const key = text.trim();
    const s = sym.get(key);
    if (s) out.push(...s);
    else out.push(text);
  }
  return out;
}

interface Block {
  title: string;
  finding?: Finding;
  point: PointResult;
  cases: CaseResult[];
}

/** Distinct failures of a run, in the order they were first seen. */
export function failureBlocks(run: RunResult): Block[] {
  const blocks = new Map<string, Block>();
  for (const c of run.cases) {
    if (c.status !== 'fail' && c.status !== 'error') continue;
    const withFindings = c.points.filter((p) => p.findings?.length && (p.status === 'fail' || p.status === 'error'));
    const failed = c.points.find((p) => p.status === 'fail' || p.status === 'error');
    const items = withFindings.length
      ? withFindings.flatMap((p) => p.findings!.map((f) => ({ title: titleFor(f), finding: f, point: p })))
      : failed
        ? [{ title: `${failed.status === 'error' ? 'error' : 'failure'} in step '${failed.name}'`, finding: undefined, point: failed }]
        : [];
    for (const it of items) {
      const b = blocks.get(it.title);
      if (b) {
        if (!b.cases.includes(c)) b.cases.push(c);
      } else blocks.set(it.title, { ...it, cases: [c] });
    }
  }
  return [...blocks.values()];
}

const field = (name: string, value: string) => wrap(`${(name ? `${name}:` : '').padEnd(10)}${value}`, WIDTH, ' '.repeat(10));

/** The command that reproduces a case, for someone in the run folder (or holding the archive). */
export function reproCommand(c: CaseResult): string {
  if (c.files.archive) return `npx ramdax-harness repro ${c.files.archive}`;
  if (c.files.repro) return `npx ramdax-harness repro --pack ${c.files.repro}`;
  return `npx ramdax-harness run ${c.file.split('/').slice(-2).join('/')} --filter '${c.id}'`;
}

function block(b: Block, run: RunResult): string[] {
  const c = b.cases[0]!;
  const k = c.kernel;
  const lines: string[] = [b.title, '='.repeat(Math.min(WIDTH, b.title.length)), ''];
  lines.push(...field('case', `${c.id}${b.cases.length > 1 ? ` (also ${b.cases.slice(1).map((x) => x.id).join(', ')})` : ''}`));
  if (k) {
    lines.push(...field('kernel', `${k.release} (${k.name}, ${k.kind ?? 'debian'})`));
    lines.push(...field('identity', k.source));
    if (k.sha256.vmlinuz) lines.push(...field('vmlinuz', k.sha256.vmlinuz));
  }
  if (c.cmdline) lines.push(...field('cmdline', c.cmdline));
  if (c.machine) lines.push(...field('machine', `${c.machine.type}, ${c.machine.cpus} CPUs, ${Math.round(c.machine.memoryBytes / 2 ** 20)} MiB, ${c.accel?.accel ?? '?'}${c.machine.icount !== undefined ? ` icount=${c.machine.icount}` : ''}${run.qemu ? `, ${run.qemu.replace(/^QEMU emulator version /, 'QEMU ')}` : ''}`));
  lines.push(...field('failed', `${b.point.kind} ${b.point.id} '${b.point.name}' (${b.point.status})`));
  // Every command of the failing step (a finding may come from any of them), with its exit status.
  const cmds = b.point.commands ?? [];
  for (const [i, cmd] of cmds.slice(-6).entries()) {
    const [first, ...more] = cmd.command.split('\n');
    lines.push(...field(i === 0 ? 'command' : '', `${first ?? ''}`));
    for (const m of more) lines.push(...wrap(`${' '.repeat(10)}${m}`, WIDTH, ' '.repeat(12)));
    lines.push(...wrap(`${' '.repeat(10)}(exit ${cmd.exitCode ?? cmd.signal}${cmd.timedOut ? ' (timed out)' : ''})`));
  }
  if (b.point.reason) lines.push(...field('reason', b.point.reason.replace(/\s+/g, ' ')));
  lines.push('');
  if (b.finding) {
    for (const l of reportLines(b.finding)) lines.push(...wrap(l));
    if (!b.finding.symbolized?.length) lines.push('', '(trace not symbolized: no debug vmlinux for this kernel; see docs/bug-reports.md)');
    lines.push('');
  }
  lines.push('Reproduce (in the run folder, or where the archive was saved):', ...shellLines(reproCommand(c)));
  return lines;
}

/**
 * A shell command as report lines that stay pasteable: on one line when it
 * fits, else broken between words with backslash continuations (a long
 * archive name must not be split by the word wrap).
 */
export function shellLines(command: string, width = WIDTH): string[] {
  if (command.length + 2 <= width) return [`  ${command}`];
  const out: string[] = [];
  let line = ' ';
  for (const word of command.split(' ')) {
    if (line.trim() && line.length + 1 + word.length + 2 > width) {
      out.push(`${line} \\`);
      line = '   ';
    }
    line += ` ${word}`;
  }
  out.push(line);
  return out;
}

/** The whole report.txt. */
export function renderText(run: RunResult): string {
  const blocks = failureBlocks(run);
  const out: string[] = [];
  const c = run.counts;
  out.push(...wrap(`ramdax-harness ${run.harness.version} run ${run.runId}: ${run.cases.length} case(s), ${c.pass} passed, ${c.fail} failed, ${c.error} errored, ${c.miss} missed, ${c.skip} skipped`));
  out.push(...wrap(`started ${run.startedAt}; ${blocks.length ? `${blocks.length} distinct failure(s)` : 'no failures'}`));
  // Cases that failed as their kernel is known to (expect.kernels): passes, but a nightly reader wants them named.
  for (const c of run.cases) {
    const last = c.points.at(-1);
    if (c.status === 'pass' && last?.details?.verdict === 'still-broken') out.push(...wrap(`known bad, still broken: ${c.id} — ${last.name}`));
  }
  for (const b of blocks) out.push('', '', ...block(b, run).flatMap((l) => wrap(l)));
  out.push('', '--', ...wrap(`ramdax-harness ${run.harness.version} (node ${run.harness.node})${run.qemu ? `, ${run.qemu}` : ''}`));
  return `${out.join('\n')}\n`;
}
