/** Kernel trouble found in console or dmesg text (triage/findings.ts finds them). */
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
  | 'kmemleak'
  | 'call-trace';

export interface Finding {
  type: FindingType;
  /** Stable one-line title: no timestamps, CPU/PID numbers or addresses. */
  title: string;
  /** The line that matched, as printed. */
  line: string;
  /** A few lines before and after. */
  context: string[];
  /** The title in syzbot's form ("WARNING in memmap_init_compound"): what reports, archives and `expect:` use. */
  crashTitle?: string;
  /** The whole report: from its first line (or `cut here`) to `---[ end ...]---` or its last `</TASK>`. */
  report?: string[];
  /** The report's frames with file:line, when a debug vmlinux was at hand (see triage/symbolize.ts). */
  symbolized?: SymbolizedFrame[];
}

/** One frame of a report, resolved to source lines (innermost inlined function first). */
export interface SymbolizedFrame {
  /** The frame as printed (`memremap_pages+0x1f3/0x680`, `? foo+0x1/0x2 [mod]`, `RIP: 0010:...`). */
  frame: string;
  /** Where it points: `mm/memremap.c:274`, then the functions it was inlined into. */
  locations: { fn: string; file: string; line: number }[];
}
