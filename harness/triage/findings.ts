/** Kernel trouble in console or dmesg text: classified, titled for de-duplication (pure). */
import { crashTitle } from './crash-title.js';
import { reportExtent } from './trace.js';

import type { Finding, FindingType } from '../model/findings.js';

export type { Finding, FindingType, SymbolizedFrame } from '../model/findings.js';

/** The syzbot-form title of a finding (computed for findings recorded before titles had that form). */
export function titleFor(f: Finding): string {
  return f.crashTitle ?? crashTitle(f.type, f.line, f.report ?? f.context);
}

const PATTERNS: [FindingType, RegExp][] = [
  // Before `panic`: the kernel says it inside "Kernel panic - not syncing: ...".
  ['init-killed', /Attempted to kill init/],
  ['panic', /Kernel panic - not syncing/],
  ['kasan', /BUG: KASAN:/],
  ['kfence', /BUG: KFENCE:/],
  ['ubsan', /UBSAN:/],
  ['hung-task', /INFO: task .* blocked for more than \d+ seconds/],
  ['rcu-stall', /rcu: INFO: .*detected stalls|rcu_(sched|preempt) (self-)?detected stall/],
  ['soft-lockup', /watchdog: BUG: soft lockup/],
  ['hard-lockup', /Watchdog detected hard LOCKUP|NMI watchdog: .*hard LOCKUP/],
  ['gpf', /general protection fault/],
  // Page faults in the kernel print a BUG line, then an Oops: the report is an oops.
  ['oops', /BUG: kernel NULL pointer dereference|BUG: unable to handle page fault/],
  // arm64's form (arch/arm64/mm/fault.c, die_kernel_fault): "Unable to handle kernel paging request at virtual address ...", then "Internal error: Oops: ...".
  ['oops', /Unable to handle kernel [a-zA-Z -]+ at virtual address/],
  ['bug', /(^|\] )BUG:|kernel BUG at/],
  ['oops', /Oops(:| -)/],
  // arm64's die() for other exceptions, e.g. "Internal error: synchronous external abort: 0000000096000010 [#1] SMP" (a read of unbacked guest-physical memory).
  ['oops', /Internal error: [a-zA-Z ]+: [0-9a-f]{8,} \[#\d+\]/],
  ['warning', /(^|\] )WARNING: /],
  // The kernel runs from memory the firmware map does not call RAM: seen when kexec_load put a kernel into a memmap=! carve-out.
  ['warning', /\.text \.data \.bss are not marked as E820_TYPE_RAM!/],
  // kmemleak's own scan thread (or a scan the harness asked for) found unreferenced objects.
  ['kmemleak', /kmemleak: \d+ new suspected memory leaks?/],
];

const TIMESTAMP = /^\s*(<\d+>)?\s*\[\s*\d+\.\d+\]\s?/;

export function stripTimestamp(line: string): string {
  return line.replace(TIMESTAMP, '');
}

/** A title that survives a re-run: numbers that change between boots are removed. */
export function titleOf(type: FindingType, line: string): string {
  let t = stripTimestamp(line)
    .replace(/\bCPU: ?\d+\b/g, 'CPU')
    .replace(/\bcpu \d+\b/gi, 'cpu')
    .replace(/\bCPU\d+\b/g, 'CPU')
    .replace(/(task \S+):\d+\b/g, '$1')
    .replace(/stuck for \d+s!/g, 'stuck for Ns!')
    .replace(/\[(\S+):\d+\]/g, '[$1]')
    .replace(/kworker\/[^\]\s]+/g, (k) => k.replace(/\d+/g, 'N'))
    .replace(/exitcode=0x([0-9a-f]+)/g, 'exitcode=$1')
    .replace(/\bPID: ?\d+\b/g, 'PID')
    .replace(/\b(comm|Comm): \S+/g, '$1')
    .replace(/\+0x[0-9a-f]+\/0x[0-9a-f]+/g, '')
    .replace(/\b0x[0-9a-f]{6,}\b|\b[0-9a-f]{12,16}\b/g, 'ADDR')
    .replace(/\b\d+ seconds\b/g, 'N seconds')
    .replace(/\b\d+ new suspected memory leak/g, 'N new suspected memory leak')
    .replace(/#\d+/g, '#N')
    .replace(/(CPU#N: [^\s/]+)\/\d+/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
  if (t.length > 160) t = `${t.slice(0, 157)}...`;
  // kmemleak names itself at the start of its lines: no "kmemleak: kmemleak: …".
  return t.startsWith(`${type}: `) ? t : `${type}: ${t}`;
}

/** Types whose report goes on with an `Oops:` line that is part of it, not a new finding. */
const OOPS_FOLLOWS = new Set<FindingType>(['oops', 'bug', 'gpf', 'kasan', 'kfence']);

/**
 * Findings in a block of kernel log lines. A report is one finding: the Oops
 * line of a BUG/GPF/KASAN report, a repeated report with the same title, and
 * a Call Trace that belongs to a finding above it are not counted again. A
 * Call Trace with nothing above it is titled by its header (e.g. "NMI backtrace
 * for cpu").
 */
export function findFindings(lines: readonly string[], contextLines = 3): Finding[] {
  const out: Finding[] = [];
  const seen = new Set<string>();
  let last: { type: FindingType; at: number } | undefined;
  lines.forEach((line, i) => {
    const text = stripTimestamp(line);
    // The closing marker of a report is not a new finding.
    if (text.startsWith('---[ end ')) return;
    const hit = PATTERNS.find(([, re]) => re.test(text));
    let type: FindingType | undefined = hit?.[0];
    let titleLine = line;
    // x86 prints its Oops line right after the BUG line; arm64 prints "Internal error: Oops:" after ~13 lines of abort details.
    if (type === 'oops' && /^(Internal error: )?Oops/.test(text.trim()) && last && OOPS_FOLLOWS.has(last.type) && i - last.at <= 20) return;
    if (!type && /Call Trace:/.test(text) && (!last || i - last.at > 40)) {
      type = 'call-trace';
      const header = lines.slice(Math.max(0, i - 30), i).reverse().find((l) => /NMI backtrace for cpu|sysrq: |Workqueue: /.test(l));
      if (header) titleLine = header;
    }
    if (!type) return;
    last = { type, at: i };
    const title = titleOf(type, titleLine);
    if (seen.has(title)) return;
    seen.add(title);
    const extent = reportExtent(lines, i, (t) => PATTERNS.some(([, re]) => re.test(t)));
    const report = lines.slice(extent.from, extent.to).map((l) => l.trimEnd());
    out.push({
      type,
      title,
      line: line.trimEnd(),
      context: lines.slice(Math.max(0, i - contextLines), i + contextLines + 8).map((l) => l.trimEnd()),
      crashTitle: crashTitle(type, titleLine, report),
      report,
    });
  });
  return out;
}

/** Letters of the taint bits in a mask, as the kernel prints them (kernel/panic.c taint_flags). */
export function taintFlags(mask: number): string {
  const letters = 'PFSRMBUDAWCIOELKXTNJ';
  const out: string[] = [];
  for (let bit = 0; bit < letters.length; bit++) if (mask & (1 << bit)) out.push(letters[bit]!);
  return out.join('') || 'none';
}
