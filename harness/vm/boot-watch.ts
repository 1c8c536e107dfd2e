/**
 * The one boot watcher, for every path that boots a kernel: the SSH path
 * (until init says sshd started), the console-only path and the kernel probe
 * (until QEMU exits). It reads the console for boot milestones and kernel
 * trouble, QEMU for its exit, and the clock for the boot and silence
 * deadlines; it never waits longer than those.
 */
import type { Clock } from '../common/clock.js';
import type { Milestone } from '../model/events.js';
import { findFindings } from '../triage/findings.js';
import type { QemuExit, VmHandle } from './handle.js';

/** Console lines that mark boot stages. */
export const BOOT_MARKERS = {
  kernelStartedMs: /Linux version \d/,
  initStartedMs: /harness-init: started/,
  sshdStartedMs: /harness-init: sshd started/,
} satisfies Partial<Record<Milestone, RegExp>>;

/** The busybox probe initramfs (console-only boots) reports its start so. */
export const PROBE_MARKERS = {
  kernelStartedMs: BOOT_MARKERS.kernelStartedMs,
  initStartedMs: /harness-probe: started/,
} satisfies Partial<Record<Milestone, RegExp>>;

export type WatchEnd =
  /** The `until` milestone was seen. */
  | { end: 'reached' }
  | { end: 'exited'; exit: QemuExit }
  /** A kernel panic (or init killed) on the console; `exited`: QEMU ended within the grace time. */
  | { end: 'panic'; exited: boolean }
  | { end: 'timeout' }
  | { end: 'silent' }
  | { end: 'interrupted' };

export interface WatchOptions {
  markers: Partial<Record<Milestone, RegExp>>;
  /** Stop watching when this milestone is seen; without it, watch until QEMU exits. */
  until?: Milestone;
  /** Only console lines from `line` on count, and deadlines start at `at` (a reboot inside the same QEMU). */
  from?: { line: number; at: number };
  deadlineMs: number;
  silenceMs: number;
  /** After a panic, how long QEMU gets to exit by itself (panic=-1) before the watch ends. */
  panicGraceMs: number;
  clock: Clock;
  interrupt?: AbortSignal;
  /** Each milestone once, with its console time (ms since QEMU started). */
  onMilestone?: (name: Milestone, ms: number) => void;
}

const POLL_MS = 100;

export async function watchBoot(vm: VmHandle, o: WatchOptions): Promise<WatchEnd> {
  const from = o.from ?? { line: 0, at: vm.startedAt };
  const seen = new Set<Milestone>();
  let scanned = from.line;
  // Only the lines new since the last look (a few back, for a finding that spans lines): not the whole boot every 100 ms.
  const scan = (): { panic: boolean } => {
    const fresh = vm.console.linesFrom(Math.max(from.line, scanned - 5));
    for (const l of vm.console.linesFrom(scanned)) {
      for (const [name, re] of Object.entries(o.markers) as [Milestone, RegExp][]) {
        if (seen.has(name) || !re.test(l.text)) continue;
        seen.add(name);
        o.onMilestone?.(name, l.t);
      }
    }
    scanned = Math.max(scanned, vm.console.lineCount);
    return { panic: findFindings(fresh.map((l) => l.text)).some((f) => f.type === 'panic' || f.type === 'init-killed') };
  };
  const deadline = from.at + o.deadlineMs;
  for (;;) {
    const { panic } = scan();
    if (o.until && seen.has(o.until)) return { end: 'reached' };
    if (o.interrupt?.aborted) return { end: 'interrupted' };
    if (!vm.running) {
      const exit = await vm.exit;
      scan();
      return o.until && seen.has(o.until) ? { end: 'reached' } : { end: 'exited', exit };
    }
    if (o.clock.now() > deadline) return { end: 'timeout' };
    if (o.clock.now() - vm.console.lastOutputAt > o.silenceMs) return { end: 'silent' };
    if (panic) {
      const exited = await vm.waitExit(o.panicGraceMs);
      scan();
      return { end: 'panic', exited };
    }
    await vm.waitExit(POLL_MS);
  }
}
