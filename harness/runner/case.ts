import { copyFile, mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describeError, HarnessError } from '../common/errors.js';
import type { CaseResult, PointResult, Status } from '../results/model.js';
import type { ResultStore } from '../results/store.js';
import { writeRepro } from '../results/repro.js';
import { symbolizeCase } from '../results/symbolize-case.js';
import type { PlannedCase, Reporter } from '../reporters/reporter.js';
import type { Scenario } from '../scenario/load.js';
import { BootFailure } from './boot.js';
import { deviceState, readDmesg } from './guest-state.js';
import { machineRecord, prepareBoot, startMachine, type BootProgress, type Machine, type MachineEnv } from './machine.js';
import { handOver, shutdownMachine } from './shutdown.js';
import { hasKmemleak, kmemleakPoint } from './kmemleak.js';
import { markRest, runSteps, type Emit } from './steps.js';
import { Teardown } from './teardown.js';
import { Expectations } from './expect.js';
import { KnownBad, pickEntry, type KernelFacts } from './known-bad.js';
import { markLost } from '../coverage/collect.js';
import { bootMetrics } from '../perf/boot-metrics.js';
import { isConsoleOnly, runConsoleCase } from './console-case.js';
import { currentKernel, kernelIdentity, type KernelArtifact } from '../setup/artifacts.js';
import { capabilitiesOf } from '../setup/detect.js';

/** The case's kernel when it takes the console path; undefined otherwise (or when it is not set up: the SSH path reports that). */
async function consoleOnlyKernel(s: Scenario, env: CaseEnv): Promise<KernelArtifact | undefined> {
  const k = await currentKernel(env.cacheDir, s.kernel).catch(() => undefined);
  return k && isConsoleOnly(k) ? k : undefined;
}

/** Name, release and patch subjects of the case's kernel, for `expect.kernels` (the name alone when it is not set up: the boot reports that). */
async function kernelFacts(s: Scenario, env: CaseEnv): Promise<KernelFacts> {
  const k = await currentKernel(env.cacheDir, s.kernel).catch(() => undefined);
  const patches = k ? (kernelIdentity(k).build?.patches ?? []) : [];
  return { name: s.kernel, release: k?.release, patches: patches.map((p) => p.subject ?? '') };
}

export interface CaseEnv extends MachineEnv {
  store: ResultStore;
  reporter: Required<Reporter>;
  /** Fetch debug symbols a kernel lacks (Debian's -dbg package) to symbolize its traces. */
  symbols?: boolean;
}

export interface Case {
  id: string;
  scenario: Scenario;
}

/**
 * Run cases that share one boot (see plan/boot-groups.ts), in order. Each case
 * gets a boot point (its own boot, or the shared one named in `bootId`); a case
 * that hands the guest on must leave the device as it found it, else the next
 * case boots afresh. `done` receives each result as it ends. Never throws.
 */
export async function runBootGroup(
  group: { c: Case; planned: PlannedCase }[],
  env: CaseEnv,
  done: (c: Case, result: CaseResult) => Promise<void>,
): Promise<void> {
  let m: Machine | undefined;
  let teardown: Teardown | undefined;
  for (const [i, { c, planned }] of group.entries()) {
    if (env.interrupt.aborted) {
      const result = notRun(c, 'miss', 'run interrupted before this case started');
      await env.reporter.onCaseBegin(planned);
      for (const pt of result.points) await env.reporter.onPoint(planned, pt);
      await done(c, result);
      continue;
    }
    await env.reporter.onCaseBegin(planned);
    const s = c.scenario;
    const dir = env.store.caseDir(c.id);
    await mkdir(dir, { recursive: true });
    const result = newResult(c, env.store.dir, dir);
    const expectations = new Expectations(s.expect?.finding, s.steps);
    const knownBad = new KnownBad(s.kernel, s.expect?.kernels ? pickEntry(s.expect.kernels, await kernelFacts(s, env)) : undefined);
    const record: Emit = async (p) => {
      const point: PointResult = { id: result.points.length + 1, ...p };
      result.points.push(point);
      await env.reporter.onPoint(planned, point);
      await env.store.event({ type: 'point', case: c.id, id: point.id, name: point.name, status: point.status, reason: point.reason, durationMs: point.durationMs });
    };
    // Expected findings (expect: { finding }) are judged before a point is recorded, in place: the runner goes on from the judged status.
    const emit: Emit = async (p) => {
      if (expectations.active) expectations.judge(p);
      if (knownBad.active) knownBad.judge(p);
      await record(p);
    };
    const close = async () => {
      for (const last of [expectations.finalPoint(), knownBad.finalPoint()]) if (last) await record(last);
      return finish(result, c, env);
    };

    // A kernel that cannot reach SSH: console-only boot verification, steps skipped (console-case.ts).
    const consoleKernel = m ? undefined : await consoleOnlyKernel(s, env);
    if (consoleKernel) {
      await runConsoleCase(s, consoleKernel, result, { emit, consoleFile: join(dir, 'console.log'), env, name: `ramdax-harness:${env.store.run.runId}:${c.id}` });
      await done(c, await close());
      continue;
    }
    if (!m) {
      teardown = new Teardown(env.log);
      const progress: BootProgress = { boot: {}, failedBoots: [] };
      const bootStart = Date.now();
      try {
        const inputs = await prepareBoot(s, env);
        describeBoot(result, inputs, s.machine);
        await keepDtb(result, inputs, dir, env.store.dir);
        m = await startMachine(s, inputs, { bootId: c.id, name: `ramdax-harness:${env.store.run.runId}:${c.id}`, consoleFile: join(dir, 'console.log'), env, teardown, progress });
        Object.assign(result, { boot: progress.boot, qemuArgv: progress.argv, sshPort: progress.port, bootId: c.id });
        const fb = progress.failedBoots;
        await emit({
          name: 'boot',
          kind: 'boot',
          status: 'pass',
          durationMs: Date.now() - bootStart,
          details: { ...progress.boot, accel: result.accel, kernel: inputs.kernel.release, ...(group.length > 1 ? { sharedBy: group.length } : {}), ...(fb.length ? { flakyBoot: fb } : {}) },
          metrics: bootMetrics(progress.boot),
        });
      } catch (err) {
        Object.assign(result, { boot: progress.boot, qemuArgv: progress.argv, sshPort: progress.port });
        const bf = err instanceof BootFailure ? err : undefined;
        const status: Status = bf ? bf.status : 'error';
        await emit({
          name: 'boot',
          kind: 'boot',
          status,
          reason: bf ? bf.message : describeError(err),
          durationMs: Date.now() - bootStart,
          findings: bf?.findings,
          details: { ...progress.boot, ...(bf ? { consoleTail: bf.consoleTail } : {}), ...(err instanceof HarnessError && err.hint ? { hint: err.hint } : {}) },
        });
        await markRest(s, 0, emit, 'miss', env.interrupt.aborted ? 'run interrupted' : `boot ${status === 'fail' ? 'failed' : 'errored'}`);
        if (env.coverage) await markLost(dir, `boot ${status === 'fail' ? 'failed' : 'errored'}: no counters`);
        await teardown.run();
        m = undefined;
        await done(c, await close());
        continue;
      }
    } else {
      describeBoot(result, m.inputs, s.machine);
      await keepDtb(result, m.inputs, dir, env.store.dir);
      Object.assign(result, { qemuArgv: m.progress.argv, sshPort: m.port, bootId: m.bootId });
      result.files.console = relative(env.store.dir, join(env.store.caseDir(m.bootId), 'console.log'));
      await emit({ name: `boot (shared with ${m.bootId})`, kind: 'boot', status: 'pass', durationMs: 0, details: { sharedBoot: m.bootId } });
    }

    const next = group[i + 1]?.c;
    const before = next ? await deviceState(m.session) : undefined;
    const outcome = await runSteps(m, s, dir, emit, env);
    const dmesgFile = join(dir, 'dmesg.txt');
    // Debug kernels: kmemleak is scanned at the end of every case; a leak fails the case like a WARN.
    let leakFree = true;
    if (!outcome.guestGone && m.vm.running && !env.interrupt.aborted) {
      m.kmemleak ??= await hasKmemleak(m.session);
      if (m.kmemleak) {
        leakFree = await kmemleakPoint(m.session, emit, s.timeouts.step);
        // The scan's own "N new suspected memory leaks" line is not news for the next case's first step.
        const st = await readDmesg(m.session);
        if (st) m.dmesgSeen = st.lines.length;
      }
    }
    if (next && outcome.completed && leakFree && !outcome.guestGone && !env.interrupt.aborted) {
      if (await handOver(m, before, { dmesgFile, next: next.id, emit, log: env.log, coverageDir: env.coverage ? dir : undefined })) {
        await done(c, await close());
        continue;
      }
    }
    await shutdownMachine(m, { dmesgFile, guestGone: outcome.guestGone, emit, teardown: teardown!, log: env.log, coverageDir: env.coverage ? dir : undefined });
    result.stop = m.progress.stop;
    m = undefined;
    await done(c, await close());
  }
}

function newResult(c: Case, runDir: string, dir: string): CaseResult {
  const rel = (p: string) => relative(runDir, p);
  return {
    id: c.id,
    scenario: c.scenario.name,
    file: c.scenario.file,
    status: 'pass',
    startedAt: new Date().toISOString(),
    durationMs: 0,
    boot: {},
    points: [],
    files: { console: rel(join(dir, 'console.log')), dmesg: rel(join(dir, 'dmesg.txt')), commands: rel(join(dir, 'commands.log')) },
  };
}

/** arm64: the case folder keeps the device tree it booted (guest.dtb, and guest.dts to read). */
async function keepDtb(result: CaseResult, inputs: Machine['inputs'], dir: string, runDir: string): Promise<void> {
  const d = inputs.dtb;
  if (!d) return;
  result.dtb = { sha256: d.sha256, path: d.path, dts: d.dts, edits: d.edits };
  await copyFile(d.path, join(dir, 'guest.dtb'));
  await copyFile(d.dts, join(dir, 'guest.dts'));
  result.files.dtb = relative(runDir, join(dir, 'guest.dtb'));
  result.files.dts = relative(runDir, join(dir, 'guest.dts'));
}

function describeBoot(result: CaseResult, inputs: Machine['inputs'], machine: Scenario['machine']): void {
  const k = inputs.kernel;
  result.kernel = { name: k.name, release: k.release, source: k.source, sha256: k.sha256, ramdax: k.ramdax, kind: k.kind ?? 'debian', capabilities: capabilitiesOf(k), ...kernelIdentity(k) };
  result.image = { name: inputs.image.name, sha256: inputs.image.sha256, rootfs: inputs.image.rootfs };
  result.accel = inputs.accel;
  result.machine = machineRecord(machine);
  result.cmdline = inputs.cmdline;
}

async function finish(result: CaseResult, c: Case, env: CaseEnv): Promise<CaseResult> {
  result.durationMs = Date.now() - Date.parse(result.startedAt);
  result.status = caseStatus(result.points);
  const bad = result.points.find((p) => p.status === result.status && p.reason);
  if (bad && result.status !== 'pass') result.reason = `${bad.name}: ${bad.reason}`;
  // file:line per frame of every kernel report (expected ones too), when the kernel's debug symbols are here (never throws).
  if (result.points.some((p) => p.findings?.length)) {
    const note = await symbolizeCase(result, env.store.dir, { cacheDir: env.cacheDir, log: env.log, fetch: env.symbols });
    if (note) env.log.info(`${c.id}: traces: ${note}`);
  }
  if (result.status === 'fail' || result.status === 'error') {
    try {
      const dir = await writeRepro({ caseDir: env.store.caseDir(c.id), result, run: env.store.run, scenario: c.scenario, sshKey: env.keys.clientKey, hostPub: env.keys.hostPub });
      result.files.repro = relative(env.store.dir, dir);
    } catch (err) {
      env.log.warn(`${c.id}: cannot write the reproducer bundle: ${describeError(err)}`);
    }
  }
  return result;
}

/** fail/error/miss when any point is; skip when every step was skipped; else pass. */
export function caseStatus(points: PointResult[]): Status {
  for (const s of ['error', 'fail', 'miss'] as const) if (points.some((p) => p.status === s)) return s;
  const steps = points.filter((p) => p.kind === 'step');
  if (steps.length && steps.every((p) => p.status === 'skip')) return 'skip';
  return 'pass';
}

/** The result of a case that never started (interrupted, or a harness bug). */
export function notRun(c: Case, status: Status, reason: string): CaseResult {
  const points: PointResult[] = [
    { id: 1, name: 'boot', kind: 'boot', status, reason, durationMs: 0 },
    ...c.scenario.steps.map((s, i) => ({ id: i + 2, name: s.name, kind: 'step' as const, status: 'miss' as Status, reason, durationMs: 0 })),
  ];
  return { id: c.id, scenario: c.scenario.name, file: c.scenario.file, status: caseStatus(points), reason, startedAt: new Date().toISOString(), durationMs: 0, boot: {}, points, files: {} };
}
