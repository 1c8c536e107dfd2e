/**
 * The checks `fill` and `verify` share: label areas against the case's
 * baseline, a namespace's data against what was written, and the checkpoints
 * that come between (rebind, warm reboot, power cycle, kexec). Each pass is
 * one run of the guest tool: label areas, pattern jobs, label areas again.
 */
import { metric } from '../../perf/metrics.js';
import { bindE820, busShape, readBus } from '../bind.js';
import type { StepRecorder } from '../recorder.js';
import { StepFailure } from '../recorder.js';
import type { RebootMethod, StepContext } from '../types.js';
import { describeReport } from './describe.js';
import { mountPoint, physOf, refindNamespaces, targetOf } from './device.js';
import { compareLabels, digest, type LabelSnapshot } from './labels.js';
import { blocksIn, segmentsOf, type Layer } from './pattern.js';
import type { PatternJob, ToolReport } from './tool.js';

export type LabelMode = 'check' | 'fresh' | 'ignore';

/**
 * The label areas around one step: the first snapshot is compared with the
 * baseline an earlier data step left (unless `fresh`), later ones with the
 * first; `commit` leaves the last as the next baseline.
 */
export class LabelGuard {
  private first?: LabelSnapshot;
  private last?: LabelSnapshot;

  constructor(
    private readonly ctx: StepContext,
    private readonly r: StepRecorder,
    private readonly mode: LabelMode,
  ) {}

  get enabled(): boolean {
    return this.mode !== 'ignore';
  }

  /** The step's first snapshot: a message when the labels changed since the last data step. */
  start(snap: LabelSnapshot): string | undefined {
    if (!this.enabled) return undefined;
    this.first = this.last = snap;
    this.r.details.labels = Object.fromEntries([...snap].map(([d, b]) => [d, { bytes: b.length, sha256: digest(b) }]));
    const base = this.ctx.integrity?.labels;
    if (this.mode !== 'check' || !base) return undefined;
    const changes = compareLabels(base.snapshot, snap);
    if (changes.length === 0) return undefined;
    this.r.details.labelChanges = changes;
    return `label area changed since ${base.by}, with no namespace step in between: ${changes.join(' | ')}`;
  }

  /** A later snapshot of the same step: a message when it differs from the first. */
  compare(snap: LabelSnapshot, when: string): string | undefined {
    if (!this.enabled || !this.first) return undefined;
    this.last = snap;
    const changes = compareLabels(this.first, snap);
    if (changes.length === 0) return undefined;
    this.r.details.labelChanges = changes;
    return `label area changed ${when}: ${changes.join(' | ')}`;
  }

  commit(by: string): void {
    if (!this.enabled || !this.last || !this.ctx.integrity) return;
    this.ctx.integrity.labels = { snapshot: this.last, by };
  }
}

/** Throws a step failure with every problem found, when there are any. */
export function failOn(problems: (string | undefined)[]): void {
  const real = problems.filter((p): p is string => !!p);
  if (real.length) throw new StepFailure(real.join(' | '));
}

/** A write or verify job for a filled namespace: its newest layers, or everything it holds. */
export function patternJob(ctx: StepContext, name: string, op: PatternJob['op'], layers?: Layer[]): PatternJob {
  const ns = ctx.namespaces.get(name);
  if (!ns) throw new StepFailure(`namespace '${name}' does not exist (was it created, or destroyed since?)`);
  const rec = ns.fill;
  if (!rec) throw new StepFailure(`namespace '${name}' was never filled`);
  const t = targetOf(name, ns);
  return { op, dev: t.path, dax: t.dax, bs: rec.bs, name: rec.name, tag: rec.tag, segments: segmentsOf(layers ?? rec.layers) };
}

const keyOf = (ctx: StepContext, name: string, job: PatternJob, bytes: number) => {
  const ns = ctx.namespaces.get(name)!;
  return { step: 'fill', mode: ns.mode, align: ns.align ?? null, bytes, bs: job.bs, dax: job.dax };
};

/** Record a write job's rate (MiB/s of guest time). */
export function noteWrite(r: StepRecorder, ctx: StepContext, name: string, job: PatternJob, report: ToolReport): void {
  const d = report.done!;
  r.details.written = { bytes: d.bytes, seconds: d.seconds };
  if (d.seconds > 0) r.metrics.push(metric('fill:write', 'MiB/s', 'higher', [d.bytes / 1024 ** 2 / d.seconds], keyOf(ctx, name, job, d.bytes)));
}

/**
 * Judge a verify job: keep what it found in the details (every wrong block
 * it described, the bad ranges) and its rate; a message naming the
 * namespace, blocks and offsets when blocks are wrong.
 */
export async function judgeVerify(r: StepRecorder, ctx: StepContext, name: string, job: PatternJob, report: ToolReport, when: string): Promise<string | undefined> {
  const ns = ctx.namespaces.get(name)!;
  const done = report.done!;
  const phys = done.bad ? await physOf(r, ns) : undefined;
  const entry = { namespace: name, dev: ns.dev, device: job.dev, when, blocks: blocksIn(job.segments), bad: done.bad, seconds: done.seconds, ...(done.bad ? { ranges: done.ranges, badBlocks: report.bad, phys } : {}) };
  ((r.details.verified ??= []) as unknown[]).push(entry);
  if (done.seconds > 0) r.metrics.push(metric('fill:verify', 'MiB/s', 'higher', [done.bytes / 1024 ** 2 / done.seconds], keyOf(ctx, name, job, done.bytes)));
  return describeReport(report, { name, dev: ns.dev, path: job.dev, phys }, ns.fill!, when);
}

/** Fail early when a namespace's block device is mounted: a fill would wreck its file system, a rebind would pull it away. */
export async function refuseMounted(r: StepRecorder, ctx: StepContext, names: string[], why: string): Promise<void> {
  for (const name of names) {
    const ns = ctx.namespaces.get(name);
    if (!ns?.blockdev) continue;
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
