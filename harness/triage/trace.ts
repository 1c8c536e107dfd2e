/**
 * The extent of one kernel report in a log and the frames of its call trace
 * (pure). A report runs from its first line (or the `cut here` line just above
 * it) to the kernel's `---[ end ... ]---` marker, or else to the end of its
 * last `<TASK>` block.
 */
const TIMESTAMP = /^\s*(<\d+>)?\s*\[\s*\d+\.\d+\]\s?/;
const stripTimestamp = (line: string) => line.replace(TIMESTAMP, '');

/** One `func+0xoff/0xlen [module]` frame of a call trace, or the RIP line. */
export interface Frame {
  fn: string;
  offset: number;
  length: number;
  module?: string;
  /** `? func+...`: found on the stack, maybe stale (the kernel's own mark). */
  unreliable: boolean;
  /** The RIP line: the exact faulting or warning address, not a return address. */
  rip: boolean;
}

const FRAME = /^(\? )?([A-Za-z_][A-Za-z0-9_.$]*)\+0x([0-9a-f]+)\/0x([0-9a-f]+)(?: \[([A-Za-z0-9_-]+)(?: [0-9a-f]+)?\])?/;
/** Kernel-mode RIP only: `RIP: 0010:func+0x.../0x...` (user mode, 0033, has no symbol). */
const RIP = /^RIP: 0010:([A-Za-z_][A-Za-z0-9_.$]*)\+0x([0-9a-f]+)\/0x([0-9a-f]+)(?: \[([A-Za-z0-9_-]+)\])?/;

/**
 * arm64's register lines: `pc : func+0x3c/0x230 [mod]` is the exact address
 * (like RIP); `lr : func+0x168/0x190 [mod]` is where the faulting leaf
 * function returns to — its caller, which the frame-record unwinder can miss.
 */
const ARM64_REG = /^(pc|lr) : ([A-Za-z_][A-Za-z0-9_.$]*)\+0x([0-9a-f]+)\/0x([0-9a-f]+)(?: \[([A-Za-z0-9_-]+)\])?/;

/** The frame a (timestamp-stripped) log line holds, if any. */
export function parseFrame(text: string): Frame | undefined {
  const t = text.trim();
  const rip = RIP.exec(t);
  if (rip) return { fn: rip[1]!, offset: parseInt(rip[2]!, 16), length: parseInt(rip[3]!, 16), module: rip[4], unreliable: false, rip: true };
  const reg = ARM64_REG.exec(t);
  if (reg) return { fn: reg[2]!, offset: parseInt(reg[3]!, 16), length: parseInt(reg[4]!, 16), module: reg[5], unreliable: false, rip: reg[1] === 'pc' };
  const m = FRAME.exec(t);
  if (!m) return undefined;
  return { fn: m[2]!, offset: parseInt(m[3]!, 16), length: parseInt(m[4]!, 16), module: m[5], unreliable: !!m[1], rip: false };
}

/** The frames of a report, in order (RIP lines and trace frames). */
export function framesOf(report: readonly string[]): Frame[] {
  const out: Frame[] = [];
  for (const l of report) {
    const f = parseFrame(stripTimestamp(l));
    if (f) out.push(f);
  }
  return out;
}

const END = /^---\[ end /;
const MAX_REPORT = 160;

/**
 * Lines [from, to) of the report that starts at line `i`; `isStart` tells
 * whether a line begins another report (which ends this one once a trace was seen).
 */
export function reportExtent(lines: readonly string[], i: number, isStart: (text: string) => boolean): { from: number; to: number } {
  let from = i;
  for (let k = i - 1; k >= Math.max(0, i - 2); k--) if (/\[ cut here \]/.test(stripTimestamp(lines[k]!))) from = k;
  let lastTask = -1;
  let sawFrame = false;
  const limit = Math.min(lines.length, i + MAX_REPORT);
  for (let k = i + 1; k < limit; k++) {
    const text = stripTimestamp(lines[k]!).trim();
    if (END.test(text)) return { from, to: k + 1 };
    if (sawFrame && isStart(text)) return { from, to: lastTask >= 0 ? lastTask + 1 : k };
    if (text === '</TASK>') lastTask = k;
    if (parseFrame(text)) sawFrame = true;
  }
  if (lastTask >= 0) return { from, to: lastTask + 1 };
  return { from, to: Math.min(lines.length, i + 12) };
}

/** `memmap_init_compound.constprop.0` → `memmap_init_compound` (compiler clones name the same function). */
export function baseFunction(fn: string): string {
  return fn.replace(/\.(constprop|isra|part|cold|llvm|lto_priv)(\.\d+)*$/g, '').replace(/\.(constprop|isra|part|cold|llvm|lto_priv)(\.\d+)*/g, '');
}
