import type { BootTimes, Metric } from '../model/results.js';
import type { Step } from '../model/scenario.js';
import { metric } from './metrics.js';

/** Boot stages, each in ms since QEMU started (one sample per boot). */
const STAGES: [keyof BootTimes, string][] = [
  ['kernelStartedMs', 'boot:kernel-start'],
  ['initStartedMs', 'boot:init-start'],
  ['sshdStartedMs', 'boot:sshd-start'],
  ['sshReadyMs', 'boot:ssh-ready'],
  ['firstCommandMs', 'boot:first-command'],
];

/** A VM's boot timings as metrics (pure); stages not reached are left out. */
export function bootMetrics(t: BootTimes): Metric[] {
  return STAGES.filter(([k]) => t[k] !== undefined).map(([k, name]) => metric(name, 'ms', 'lower', [t[k]!], { stage: k, from: 'qemu-start' }));
}

/** Step kinds whose wall time is itself a figure worth tracking. */
const TIMED_KINDS = new Set(['ramdax', 'namespace', 'mkfs', 'mount', 'umount']);

/** A step's metrics plus, for setup kinds, its own duration (pure). */
export function stepMetrics(step: Pick<Step, 'kind' | 'params'>, durationMs: number, measured: Metric[] | undefined): Metric[] | undefined {
  const out = [...(measured ?? [])];
  if (TIMED_KINDS.has(step.kind)) out.push(metric(`duration:${step.kind}`, 'ms', 'lower', [durationMs], { step: step.kind, params: step.params as Record<string, unknown> }));
  return out.length ? out : undefined;
}
