/**
 * The checks `fill` and `verify` share: label areas against the case's
 * baseline, a namespace's data against what was written, and the checkpoints
 * that come between (rebind, warm reboot, power cycle, kexec).
 */
import { metric } from '../perf/metrics.js';
import { bindE820, busShape, readBus } from '../steps/bind.js';
import type { StepRecorder } from '../steps/recorder.js';
import { StepFailure } from '../steps/recorder.js';
import type { RebootMethod, StepContext } from '../steps/types.js';
import { describeReport } from './describe.js';
import { mountPoint, physOf, refindNamespaces, targetOf } from './device.js';
import { compareLabels, snapshotLabels, type LabelSnapshot } from './labels.js';
import { blocksIn, segmentsOf, type FillRecord } from './pattern.js';
import { runTool, type ToolReport } from './tool.js';

export type LabelMode = 'check' | 'fresh' | 'ignore';

/**
 * The label areas around one step: `begin` compares them with the baseline an
 * earlier data step left (unless `fresh`), `check` compares them with the
 * state at `begin`, `commit` leaves the last state as the next baseline.
 */
export class LabelGuard {
  private start?: LabelSnapshot;
  private last?: LabelSnapshot;

  constructor(
    private readonly ctx: StepContext,
    private readonly r: StepRecorder,
    private readonly mode: LabelMode,
  ) {}

  async begin(): Promise<void> {
    if (this.mode === 'ignore') return;
    this.start = this.last = await snapshotLabels(this.r);
    this.r.details.labels = Object.fromEntries([...this.start].map(([d, b]) => [d, { bytes: b.length }]));
    const base = this.ctx.integrity?.labels;
    if (this.mode === 'check' && base) {
      const changes = compareLabels(base.snapshot, this.start);
      if (changes.length) throw new StepFailure(`label area changed since ${base.by}, with no namespace step in between: ${changes.join(' | ')}`, { labelChanges: changes });
    }
  }

  /** Problems (one per DIMM) when the labels differ from what they were at `begin`. */
  async check(when: string): Promise<string | undefined> {
    if (this.mode === 'ignore' || !this.start) return undefined;
    this.last = await snapshotLabels(this.r);
    const changes = compareLabels(this.start, this.last);
    if (changes.length === 0) return undefined;
    this.r.details.labelChanges = changes;
    return `label area changed ${when}: ${changes.join(' | ')}`;
  }

  commit(by: string): void {
    if (this.mode === 'ignore' || !this.last || !this.ctx.integrity) return;
    this.ctx.integrity.labels = { snapshot: this.last, by };
  }
}

/** Throws a step failure with every problem found, when there are any. */
export function failOn(problems: (string | undefined)[]): void {
  const real = problems.filter((p): p is string => !!p);
  if (real.length) throw new StepFailure(real.join(' | '));
}

/** A rate in MiB/s from bytes and seconds of guest time (none for instants). */
function rate(bytes: number, seconds: number): number | undefined {
  return seconds > 0 ? bytes / 1024 ** 2 / seconds : undefined;
}

/** Write a namespace's newest layers; returns the tool's report. */
export async function writeLayers(r: StepRecorder, ctx: StepContext, name: string, rec: FillRecord, fresh: FillRecord['layers']): Promise<ToolReport> {
  const ns = ctx.namespaces.get(name)!;
  const t = targetOf(name, ns);
  const report = await runTool(r, { op: 'write', dev: t.path, dax: t.dax, bs: rec.bs, name: rec.name, tag: rec.tag, segments: segmentsOf(fresh) });
  const mibs = rate(report.done!.bytes, report.done!.seconds);
  if (mibs !== undefined) r.metrics.push(metric('fill:write', 'MiB/s', 'higher', [mibs], keyOf(ns.mode, ns.align, report.done!.bytes, rec.bs, t.dax)));
  return report;
}

const keyOf = (mode: string, align: number | undefined, bytes: number, bs: number, dax: boolean) => ({ step: 'fill', mode, align: align ?? null, bytes, bs, dax });

/** Verify everything the fills of `name` wrote; a message when blocks are wrong. */
export async function verifyData(r: StepRecorder, ctx: StepContext, name: string, when: string): Promise<string | undefined> {
  const ns = ctx.namespaces.get(name);
  if (!ns) throw new StepFailure(`namespace '${name}' does not exist (was it created, or destroyed since?)`);
  const rec = ns.fill;
  if (!rec) throw new StepFailure(`namespace '${name}' was never filled`);
  const t = targetOf(name, ns);
  const segments = segmentsOf(rec.layers);
  const report = await runTool(r, { op: 'verify', dev: t.path, dax: t.dax, bs: rec.bs, name: rec.name, tag: rec.tag, segments, max: 16 });
  const done = report.done!;
  const phys = done.bad ? await physOf(r, ns) : undefined;
  const entry = { namespace: name, dev: ns.dev, device: t.path, when, blocks: blocksIn(segments), bad: done.bad, seconds: done.seconds, ...(done.bad ? { ranges: done.ranges, badBlocks: report.bad, phys } : {}) };
  ((r.details.verified ??= []) as unknown[]).push(entry);
  const mibs = rate(done.bytes, done.seconds);
  if (mibs !== undefined) r.metrics.push(metric('fill:verify', 'MiB/s', 'higher', [mibs], keyOf(ns.mode, ns.align, done.bytes, rec.bs, t.dax)));
  return describeReport(report, { name, dev: ns.dev, path: t.path, phys }, rec, when);
}

/** Fail early when a namespace's block device is mounted: a fill would wreck its file system, a rebind would pull it away. */
export async function refuseMounted(r: StepRecorder, ctx: StepContext, names: string[], why: string): Promise<void> {
  for (const name of names) {
    const ns = ctx.namespaces.get(name);
    if (!ns) continue;
    const at = await mountPoint(r, targetOf(name, ns));
    if (at) throw new StepFailure(`namespace '${name}' (${ns.blockdev}) is mounted at ${at}: ${why}`);
  }
}

export type Checkpoint = 'after-write' | 'after-rebind' | 'after-reboot' | 'after-power-cycle' | 'after-kexec';

export const CHECKPOINT_REBOOT: Partial<Record<Checkpoint, RebootMethod>> = { 'after-reboot': 'warm', 'after-power-cycle': 'power-cycle', 'after-kexec': 'kexec' };

export const CHECKPOINT_WORDS: Record<Checkpoint, string> = {
  'after-write': 'after the write',
  'after-rebind': 'after ramdax was unbound and bound again',
  'after-reboot': 'after a warm reboot',
  'after-power-cycle': 'after a power cycle (QEMU killed and restarted on its RAM file)',
  'after-kexec': 'after a kexec reboot',
};

/**
 * Take the device through a checkpoint: rebind ramdax, or reboot the guest
 * and bind ramdax again; then the same DIMMs and regions must be back and
 * every known namespace found again by its uuid.
 */
export async function passCheckpoint(r: StepRecorder, ctx: StepContext, cp: Checkpoint): Promise<void> {
  if (cp === 'after-write') return;
  const before = busShape((await readBus(r, 'ramdax')).bus);
  const words = CHECKPOINT_WORDS[cp];
  if (cp === 'after-rebind') {
    await refuseMounted(r, ctx, [...ctx.namespaces.keys()], 'unmount it before a rebind');
    await bindE820(r, 'ramdax', { rebind: true });
  } else {
    if (!ctx.reboot) throw new StepFailure('this runner cannot reboot guests');
    const t = await ctx.reboot(Math.max(1000, r.remainingMs()), CHECKPOINT_REBOOT[cp]!);
    ((r.details.reboots ??= []) as unknown[]).push({ checkpoint: cp, ...t });
    await bindE820(r, 'ramdax');
  }
  const after = busShape((await readBus(r, 'ramdax')).bus);
  r.check(after === before, `the ramdax bus came back different ${words}: ${after} (was ${before})`);
  await refindNamespaces(r, ctx.namespaces, words);
}
