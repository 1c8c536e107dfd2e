/**
 * The one reducer: a case's events (events.ts) folded into its CaseResult
 * (pure). Nothing else writes a CaseResult; reporters that want the result so
 * far read the fold, reporters that want what happened read the events.
 */
import type { CaseEvent } from './events.js';
import type { Finding } from './findings.js';
import type { CommandResult } from './guest.js';
import type { CaseResult, PointResult } from './results.js';
import { caseStatus } from './status.js';

export interface CaseState {
  result: CaseResult;
  startedMs: number;
  /** The step that started and has not ended (its commands are collected). */
  openStep?: number;
  /** Commands and findings waiting for the point they belong to (the next one that ends). */
  pending: { commands: CommandResult[]; findings: Finding[] };
  /** The point the last event added, if it added one. */
  added?: PointResult;
  ended: boolean;
}

/** Fold one event into the state (a new state; the old one is left as it was). */
export function foldEvent(state: CaseState | undefined, e: CaseEvent): CaseState {
  if (e.type === 'case-started') {
    return {
      result: { id: e.id, scenario: e.scenario, file: e.file, status: 'pass', startedAt: new Date(e.at).toISOString(), durationMs: 0, boot: {}, points: [], files: { ...e.files } },
      startedMs: e.at,
      pending: { commands: [], findings: [] },
      ended: false,
    };
  }
  if (!state) throw new Error(`event ${e.type} before case-started`);
  if (state.ended) throw new Error(`event ${e.type} after case-ended of ${state.result.id}`);
  const s: CaseState = { ...state, result: { ...state.result }, added: undefined };
  const r = s.result;
  const point = (p: Omit<PointResult, 'id'>): CaseState => {
    const added = withoutUndefined({ id: r.points.length + 1, ...p }) as PointResult;
    r.points = [...r.points, added];
    r.status = caseStatus(r.points);
    const bad = r.points.find((x) => x.status === r.status && x.reason);
    if (r.status !== 'pass' && bad) r.reason = `${bad.name}: ${bad.reason}`;
    else delete r.reason;
    return { ...s, added, openStep: undefined, pending: { commands: [], findings: [] } };
  };
  const findings = () => (s.pending.findings.length ? s.pending.findings : undefined);
  switch (e.type) {
    case 'boot-prepared':
      Object.assign(r, { kernel: e.kernel, image: e.image, accel: e.accel, machine: e.machine, cmdline: e.cmdline, ...(e.dtb ? { dtb: e.dtb } : {}) });
      return s;
    case 'boot-started':
      Object.assign(r, { boot: {}, qemuArgv: e.argv, sshPort: e.sshPort });
      return s;
    case 'milestone':
      r.boot = { ...r.boot, [e.name]: e.ms };
      return s;
    case 'boot-ended':
      if (e.bootId !== undefined) r.bootId = e.bootId;
      if (e.stop !== undefined) r.stop = e.stop;
      return point({
        name: 'boot',
        kind: 'boot',
        status: e.status,
        reason: e.reason,
        durationMs: e.durationMs,
        findings: findings(),
        details: { ...r.boot, ...e.details },
        metrics: e.metrics,
      });
    case 'boot-shared':
      Object.assign(r, { qemuArgv: e.argv, sshPort: e.sshPort, bootId: e.bootId });
      r.files = { ...r.files, console: e.console };
      return point({ name: `boot (shared with ${e.bootId})`, kind: 'boot', status: 'pass', durationMs: 0, details: { sharedBoot: e.bootId } });
    case 'step-started':
      return { ...s, openStep: e.index, pending: { commands: [], findings: [] } };
    case 'command':
      return { ...s, pending: { ...s.pending, commands: [...s.pending.commands, e.result] } };
    case 'finding':
      return { ...s, pending: { ...s.pending, findings: [...s.pending.findings, e.finding] } };
    case 'step-ended':
      return point({
        name: e.name,
        kind: 'step',
        status: e.status,
        reason: e.reason,
        durationMs: e.durationMs,
        commands: s.openStep === e.index ? s.pending.commands : undefined,
        details: e.details,
        subtap: e.subtap,
        metrics: e.metrics,
        findings: findings(),
        dmesg: e.dmesg,
      });
    case 'leakcheck':
      return point({
        name: 'kmemleak scan',
        kind: 'leakcheck',
        status: e.status,
        reason: e.reason,
        durationMs: e.durationMs,
        commands: s.pending.commands.length ? s.pending.commands : undefined,
        findings: findings(),
        details: e.details,
      });
    case 'coverage':
    case 'kernel-log':
      return s;
    case 'handover':
      return point({ name: 'device left as found', kind: 'handover', status: e.status, reason: e.reason, durationMs: e.durationMs, details: e.details });
    case 'shutdown':
      if (e.stop !== undefined) r.stop = e.stop;
      return point({ name: 'shutdown', kind: 'shutdown', status: e.status, reason: e.reason, durationMs: e.durationMs, findings: findings(), details: e.details });
    case 'symbolized':
      r.points = r.points.map((p) =>
        p.id === e.point && p.findings?.[e.finding] ? { ...p, findings: p.findings.map((f, i) => (i === e.finding ? { ...f, symbolized: e.frames } : f)) } : p,
      );
      return s;
    case 'file':
      r.files = { ...r.files, [e.name]: e.path };
      return s;
    case 'case-ended':
      r.durationMs = e.at - s.startedMs;
      return { ...s, ended: true };
  }
}

/** A whole case's events → its result. */
export function foldCase(events: readonly CaseEvent[]): CaseResult {
  let s: CaseState | undefined;
  for (const e of events) s = foldEvent(s, e);
  if (!s) throw new Error('no events');
  return s.result;
}

function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
