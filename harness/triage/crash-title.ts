/**
 * Crash titles in syzbot's form (pure): "WARNING in ramdax_register_dimm",
 * "KASAN: slab-out-of-bounds Read in __nd_label_validate", "kernel BUG in
 * nd_region_probe", "INFO: task hung in fsfreeze", "kernel panic: sysrq
 * triggered crash". The function is the one the report blames: the WARN's
 * `at FUNC`, the kernel RIP, or the first frame of the trace that is not
 * scheduler, locking or reporting machinery. Compiler clone suffixes
 * (.constprop.0, .isra.0, ...) are dropped, so titles survive rebuilds.
 */
import type { FindingType } from '../model/findings.js';
import { baseFunction, parseFrame, type Frame } from './trace.js';
import { ALLOCATOR, frameName } from './kmemleak.js';

const TIMESTAMP = /^\s*(<\d+>)?\s*\[\s*\d+\.\d+\]\s?/;
const strip = (l: string) => l.replace(TIMESTAMP, '').trim();

/** Frames that say where the kernel waited or reported, not what went wrong (as syzbot skips them). */
const SKIP = [
  /^__?schedule/, /^schedule/, /^io_schedule/, /^preempt_schedule/, /^__cond_resched/, /^_cond_resched/,
  /^wait_for_/, /^__wait_for_/, /^wait_on_/, /^__wait_on_/, /^out_of_line_wait/, /^bit_wait/, /^__wait_var/, /^wait_var/,
  /^mutex_/, /^__mutex_/, /^__percpu_down/, /^down_/, /^__down/, /^down$/, /^rwsem_/, /^_raw_spin/, /^__raw_spin/, /^do_raw_spin/, /^queued_spin/, /^native_queued/, /^percpu_down/, /^percpu_rwsem/, /^rt_mutex/,
  /^__pfx_/, /^dump_stack/, /^show_stack/, /^panic/, /^__warn/, /^warn_slowpath/, /^report_bug/, /^handle_bug/, /^exc_/, /^asm_exc_/, /^asm_sysvec/, /^sysvec_/, /^kasan_/, /^__kasan/, /^kfence_/, /^ubsan_/, /^__ubsan/,
  /^print_report/, /^nmi_/, /^arch_trigger/, /^trigger_/, /^rcu_dump/, /^rcu_sched_clock_irq/, /^update_process_times/, /^tick_/, /^__hrtimer/, /^hrtimer_/, /^watchdog/,
  // String routines fault on the caller's bad pointer (arm64's memcpy is __pi_memcpy_generic).
  /^__pi_mem(cpy|move|set)/, /^__mem(cpy|move|set)/, /^mem(cpy|move|set)(_generic)?$/,
  /^ret_from_fork/, /^kthread$/, /^worker_thread/, /^process_one_work/, /^do_syscall_64/, /^entry_SYSCALL/, /^x64_sys_call/,
];

const blamed = (f: Frame) => !f.unreliable && !SKIP.some((re) => re.test(f.fn));

/** The function a report blames: the kernel RIP, else the first trace frame that is not machinery. */
export function blamedFunction(report: readonly string[], preferTrace = false): string | undefined {
  const frames = report.map((l) => parseFrame(strip(l))).filter((f): f is Frame => f !== undefined);
  // Kernels without a reliable unwinder mark every frame `?`: then those are all there is.
  const reliable = frames.some((f) => !f.rip && !f.unreliable);
  const ok = (f: Frame) => (reliable ? blamed(f) : !SKIP.some((re) => re.test(f.fn)));
  const rip = frames.find((f) => f.rip && ok(f));
  const frame = frames.find((f) => !f.rip && ok(f));
  const pick = preferTrace ? (frame ?? rip) : (rip ?? frame);
  return pick && baseFunction(pick.fn);
}

const inFn = (what: string, fn: string | undefined) => (fn ? `${what} in ${fn}` : what);

/** The title for a finding of `type` whose matching line is `line`, with its report's lines. */
export function crashTitle(type: FindingType, line: string, report: readonly string[]): string {
  const text = strip(line);
  const fn = blamedFunction(report);
  switch (type) {
    case 'warning': {
      // `WARNING: CPU: 1 PID: 2 at FILE:LINE FUNC+0x1/0x2 [mod]` (before 6.16) or `WARNING: FILE:LINE at FUNC+0x1/0x2, CPU#1: comm/2`.
      const at = /\bat (?:\S+:\d+ )?([A-Za-z_][A-Za-z0-9_.$]*)\+0x/.exec(text)?.[1];
      if (at || fn) return `WARNING in ${baseFunction(at ?? fn!)}`;
      const msg = text.replace(/^WARNING: /, '').replace(/\bCPU: ?\d+ PID: ?\d+ /, '').trim();
      return `WARNING: ${msg}`;
    }
    case 'kasan': {
      const m = /KASAN: ([a-z-]+) in ([A-Za-z_][A-Za-z0-9_.$]*)/.exec(text);
      const access = report.map(strip).map((l) => /^(Read|Write) of size/.exec(l)?.[1]).find(Boolean);
      return m ? `KASAN: ${m[1]}${access ? ` ${access}` : ''} in ${baseFunction(m[2]!)}` : inFn('KASAN: invalid-access', fn);
    }
    case 'kfence': {
      const m = /KFENCE: ([a-z -]+?) in ([A-Za-z_][A-Za-z0-9_.$]*)/.exec(text);
      return m ? `KFENCE: ${m[1]} in ${baseFunction(m[2]!)}` : inFn('KFENCE: memory corruption', fn);
    }
    case 'ubsan': {
      const kind = /UBSAN: ([a-z-]+)/.exec(text)?.[1] ?? 'undefined-behaviour';
      return inFn(`UBSAN: ${kind}`, blamedFunction(report, true) ?? /in (\S+?):\d+/.exec(text)?.[1]);
    }
    case 'oops': {
      if (/NULL pointer dereference/.test(text)) return inFn('BUG: kernel NULL pointer dereference', fn);
      if (/unable to handle page fault/.test(text)) return inFn('BUG: unable to handle kernel paging request', fn);
      const arm64 = /Unable to handle kernel ([a-zA-Z -]+?) at virtual address/.exec(text)?.[1];
      if (arm64) return inFn(`Unable to handle kernel ${arm64}`, fn);
      const die = /Internal error: ([a-zA-Z ]+?): [0-9a-f]{8,}/.exec(text)?.[1];
      if (die && !/^Oops/.test(die)) return inFn(`Internal error: ${die}`, fn);
      const what = /Oops: (?:Oops: )?([a-z][a-z0-9 ]*?)(?::|\s+\d{4}\b|$)/.exec(text)?.[1]?.trim();
      return inFn(`Oops${what ? `: ${what}` : ''}`, fn);
    }
    case 'gpf':
      return inFn('general protection fault', fn);
    case 'bug':
      if (/kernel BUG at/.test(text)) return inFn('kernel BUG', fn);
      return inFn(text.replace(/:.*$/, '').replace(/^.*?BUG/, 'BUG'), fn);
    case 'hung-task':
      return inFn('INFO: task hung', blamedFunction(report, true));
    case 'rcu-stall':
      return inFn('INFO: rcu detected stall', blamedFunction(report, true));
    case 'soft-lockup':
      return inFn('BUG: soft lockup', blamedFunction(report, true));
    case 'hard-lockup':
      return inFn('watchdog: hard LOCKUP', blamedFunction(report, true));
    case 'init-killed':
      return 'kernel panic: Attempted to kill init!';
    case 'panic':
      return `kernel panic: ${text.replace(/^.*Kernel panic - not syncing: ?/, '').replace(/\s+/g, ' ').trim()}`;
    case 'kmemleak': {
      // syzbot's form: "memory leak in FUNC", FUNC the first frame of the backtrace that is not the allocator.
      const frames = report.map(frameName).filter((f): f is string => !!f);
      const caller = frames.find((f) => !ALLOCATOR.test(f));
      return inFn('memory leak', caller && baseFunction(caller));
    }
    case 'call-trace': {
      const nmi = report.some((l) => /NMI backtrace for cpu/.test(l));
      return inFn(nmi ? 'NMI backtrace' : 'call trace', blamedFunction(report, true));
    }
  }
}
