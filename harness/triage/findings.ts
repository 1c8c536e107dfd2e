/** Kernel trouble in console or dmesg text: classified, titled for de-duplication (pure). */

export type FindingType =
  | 'panic'
  | 'oops'
  | 'bug'
  | 'warning'
  | 'kasan'
  | 'ubsan'
  | 'kfence'
  | 'gpf'
  | 'hung-task'
  | 'rcu-stall'
  | 'soft-lockup'
  | 'hard-lockup'
  | 'init-killed'
  | 'call-trace';

export interface Finding {
  type: FindingType;
  /** Stable one-line title: no timestamps, CPU/PID numbers or addresses. */
  title: string;
  /** The line that matched, as printed. */
  line: string;
  /** A few lines before and after. */
  context: string[];
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
  ['bug', /(^|\] )BUG:|kernel BUG at/],
  ['oops', /Oops(:| -)/],
  ['warning', /(^|\] )WARNING: /],
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
    .replace(/(task \S+?):\d+/g, '$1')
    .replace(/stuck for \d+s!/g, 'stuck for Ns!')
    .replace(/\[(\S+):\d+\]/g, '[$1]')
    .replace(/exitcode=0x([0-9a-f]+)/g, 'exitcode=$1')
    .replace(/\bPID: ?\d+\b/g, 'PID')
    .replace(/\b(comm|Comm): \S+/g, '$1')
    .replace(/\+0x[0-9a-f]+\/0x[0-9a-f]+/g, '')
    .replace(/\b0x[0-9a-f]{6,}\b|\b[0-9a-f]{12,16}\b/g, 'ADDR')
    .replace(/\b\d+ seconds\b/g, 'N seconds')
    .replace(/#\d+/g, '#N')
    .replace(/(CPU#N: [^\s/]+)\/\d+/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
  if (t.length > 160) t = `${t.slice(0, 157)}...`;
  return `${type}: ${t}`;
}

/** Findings in a block of kernel log lines; a Call Trace only counts when nothing above explains it. */
export function findFindings(lines: readonly string[], contextLines = 3): Finding[] {
  const out: Finding[] = [];
  let lastFindingAt = -Infinity;
  lines.forEach((line, i) => {
    const text = stripTimestamp(line);
    // The closing marker of a report is not a new finding.
    if (text.startsWith('---[ end ')) return;
    const hit = PATTERNS.find(([, re]) => re.test(text));
    let type: FindingType | undefined = hit?.[0];
    if (!type && /Call Trace:/.test(text) && i - lastFindingAt > 40) type = 'call-trace';
    if (!type) return;
    // A panic that follows an oops/BUG is its consequence: keep both, they are different titles.
    lastFindingAt = i;
    out.push({
      type,
      title: titleOf(type, line),
      line: line.trimEnd(),
      context: lines.slice(Math.max(0, i - contextLines), i + contextLines + 8).map((l) => l.trimEnd()),
    });
  });
  return out;
}

/** Taint flags from /proc/sys/kernel/tainted (a number). */
export function taintChanged(before: number, after: number): boolean {
  return before !== after;
}
