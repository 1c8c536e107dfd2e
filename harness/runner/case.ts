import { copyFile, mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describeError, HarnessError } from '../common/errors.js';
import type { CaseEventBody } from '../model/events.js';
import type { Status } from '../model/status.js';
import type { Case } from '../matrix/case.js';
import type { CaseStream } from '../reporters/case-stream.js';
import type { ResultStore } from '../results/store.js';
import { writeRepro } from '../results/repro.js';
import { symbolizeCase } from '../results/symbolize-case.js';
import type { Scenario } from '../scenario/load.js';
import type { KeyPaths } from '../setup/keys.js';
import { BootFailure } from './boot.js';
import { deviceState, readDmesg } from './guest-state.js';
import { MachineBootFailure, machineRecord, prepareBoot, startMachine, type BootInputs, type Machine, type MachineEnv } from './machine.js';
import { handOver, shutdownMachine } from './shutdown.js';
import { hasKmemleak, kmemleakPoint } from './kmemleak.js';
import { coverageLost } from './coverage.js';
import { markRest, runSteps, type Emit } from './steps.js';
import { Teardown } from './teardown.js';
import { Expectations, judging, type Judge } from './expect.js';
import { KnownBad, pickEntry, type KernelFacts } from './known-bad.js';
import { bootMetrics } from '../perf/boot-metrics.js';
import { isConsoleOnly, runConsoleCase } from './console-case.js';
import { currentKernel, kernelIdentity, type KernelArtifact } from '../setup/artifacts.js';
import { capabilitiesOf } from '../setup/detect.js';

export interface CaseEnv extends MachineEnv {
  /** Where case folders are (and the run, for reproducer bundles). */
  store: ResultStore;
  /** The client key a reproducer bundle names. */
  keys: KeyPaths;
  /** Fetch debug symbols a kernel lacks (Debian's -dbg package) to symbolize its traces. */
  symbols?: boolean;
}

/** A case of a boot group and the stream its events go to. */
export interface GroupCase {
  c: Case;
  stream: CaseStream;
}

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

/**
 * Run cases that share one boot (see plan/boot-groups.ts), in order, each
 * into its own event stream. Each case gets a boot point (its own boot, or
 * the shared one named in `bootId`); a case that hands the guest on must
 * leave the device as it found it, else the next case boots afresh. Every
 * stream ends with case-ended. Never throws.
 */
export async function runBootGroup(group: GroupCase[], env: CaseEnv): Promise<void> {
  const { clock } = env.fx;
  let m: Machine | undefined;
  let teardown: Teardown | undefined;
  for (const [i, { c, stream }] of group.entries()) {
    // Expected findings (expect: { finding }) are judged as points end; the runner goes on from the judged status.
    const expectations = new Expectations(c.scenario.expect?.finding, c.scenario.steps);
    // Per-kernel outcomes (expect.kernels: known bad on this kernel) are judged the same way.
    const knownBad = new KnownBad(c.scenario.kernel, c.scenario.expect?.kernels ? pickEntry(c.scenario.expect.kernels, await kernelFacts(c.scenario, env)) : undefined);
    const judges = [expectations, knownBad];
    const emit = judging(judges, stream);
    if (env.interrupt.aborted) {
      await endUnrun(c, stream, 'miss', 'run interrupted before this case started');
      continue;
    }
    const s = c.scenario;
    const dir = env.store.caseDir(c.id);
    await mkdir(dir, { recursive: true });
    const rel = (p: string) => relative(env.store.dir, p);
    await emit({
      type: 'case-started',
      id: c.id,
      scenario: s.name,
      file: s.file,
      files: { console: rel(join(dir, 'console.log')), dmesg: rel(join(dir, 'dmesg.txt')), commands: rel(join(dir, 'commands.log')) },
    });
    const name = `ramdax-harness:${env.store.run.runId}:${c.id}`;
    const consoleFile = join(dir, 'console.log');

    // A kernel that cannot reach SSH: console-only boot verification, steps skipped (console-case.ts).
    const consoleKernel = m ? undefined : await consoleOnlyKernel(s, env);
    if (consoleKernel) {
      await runConsoleCase(s, consoleKernel, { emit, consoleFile, env, name });
      await finish(c, stream, env, judges);
      continue;
    }
    if (!m) {
      teardown = new Teardown(env.log);
      const bootStart = clock.now();
      try {
        const inputs = await prepareBoot(s, env);
        await emit(bootPrepared(inputs, s.machine));
        await keepDtb(inputs, dir, env.store.dir, emit);
        m = await startMachine(s, inputs, { bootId: c.id, name, consoleFile, env, teardown, emit });
        const fb = m.failedBoots;
        await emit({
          type: 'boot-ended',
          status: 'pass',
          durationMs: clock.now() - bootStart,
          bootId: c.id,
          failedAttempts: fb,
          details: { accel: stream.result.accel, kernel: inputs.kernel.release, ...(group.length > 1 ? { sharedBy: group.length } : {}), ...(fb.length ? { flakyBoot: fb } : {}) },
          metrics: bootMetrics(stream.result.boot),
        });
      } catch (err) {
        const bf = err instanceof BootFailure ? err : undefined;
        const status: Status = bf ? bf.status : 'error';
        for (const finding of bf?.findings ?? []) await emit({ type: 'finding', finding });
        await emit({
          type: 'boot-ended',
          status,
          reason: bf ? bf.message : describeError(err),
          durationMs: clock.now() - bootStart,
          failedAttempts: err instanceof MachineBootFailure ? err.failedAttempts : [],
          details: { ...(bf ? { consoleTail: bf.consoleTail } : {}), ...(err instanceof HarnessError && err.hint ? { hint: err.hint } : {}) },
        });
        await markRest(s, 0, emit, 'miss', env.interrupt.aborted ? 'run interrupted' : `boot ${status === 'fail' ? 'failed' : 'errored'}`);
        if (env.coverage) await coverageLost(dir, 'boot', `boot ${status === 'fail' ? 'failed' : 'errored'}: no counters`, emit);
        await teardown.run();
        m = undefined;
        await finish(c, stream, env, judges);
        continue;
      }
    } else {
      await emit(bootPrepared(m.inputs, s.machine));
      await keepDtb(m.inputs, dir, env.store.dir, emit);
      await emit({ type: 'boot-shared', bootId: m.bootId, argv: m.argv, sshPort: m.port, console: rel(join(env.store.caseDir(m.bootId), 'console.log')) });
    }

    const next = group[i + 1]?.c;
    const before = next ? await deviceState(m.session) : undefined;
    const outcome = await runSteps(m, s, emit, env, dir);
    // Debug kernels: kmemleak is scanned at the end of every case; a leak fails the case like a WARN.
    let leakFree = true;
    if (!outcome.guestGone && m.vm.running && !env.interrupt.aborted) {
      m.kmemleak ??= await hasKmemleak(m.session);
      if (m.kmemleak) {
        leakFree = await kmemleakPoint(m.session, emit, s.timeouts.step, clock);
        // The scan's own "N new suspected memory leaks" line is not news for the next case's first step.
        const st = await readDmesg(m.session);
        if (st) m.dmesgSeen = st.lines.length;
      }
    }
    const coverageDir = env.coverage ? dir : undefined;
    if (next && outcome.completed && leakFree && !outcome.guestGone && !env.interrupt.aborted) {
      if (await handOver(m, before, { next: next.id, emit, env, coverageDir })) {
        await finish(c, stream, env, judges);
        continue;
      }
    }
    await shutdownMachine(m, { guestGone: outcome.guestGone, emit, teardown: teardown!, env, coverageDir });
    m = undefined;
    await finish(c, stream, env, judges);
  }
}

function bootPrepared(inputs: BootInputs, machine: Scenario['machine']): CaseEventBody {
  const k = inputs.kernel;
  return {
    type: 'boot-prepared',
    kernel: { name: k.name, release: k.release, source: k.source, sha256: k.sha256, ramdax: k.ramdax, kind: k.kind ?? 'debian', capabilities: capabilitiesOf(k), ...kernelIdentity(k) },
    image: { name: inputs.image.name, sha256: inputs.image.sha256, rootfs: inputs.image.rootfs },
    accel: inputs.accel,
    machine: machineRecord(machine),
    cmdline: inputs.cmdline,
    ...(inputs.dtb ? { dtb: { sha256: inputs.dtb.sha256, path: inputs.dtb.path, dts: inputs.dtb.dts, edits: inputs.dtb.edits } } : {}),
  };
}

/** arm64: the case folder keeps the device tree it booted (guest.dtb, and guest.dts to read), as files of the case. */
async function keepDtb(inputs: BootInputs, dir: string, runDir: string, emit: Emit): Promise<void> {
  const d = inputs.dtb;
  if (!d) return;
  await copyFile(d.path, join(dir, 'guest.dtb'));
  await copyFile(d.dts, join(dir, 'guest.dts'));
  await emit({ type: 'file', name: 'dtb', path: relative(runDir, join(dir, 'guest.dtb')) });
  await emit({ type: 'file', name: 'dts', path: relative(runDir, join(dir, 'guest.dts')) });
}

/**
 * The end of a case: the case-level expectation's point, file:line for the
 * frames of its kernel reports (when the kernel's debug symbols are here),
 * a reproducer bundle when it failed; then case-ended.
 */
async function finish(c: Case, stream: CaseStream, env: CaseEnv, judges: Judge[]): Promise<void> {
  for (const [n, last] of judges.map((j) => j.finalPoint()).filter((p) => p !== undefined).entries()) {
    await stream.emit({ type: 'step-ended', index: c.scenario.steps.length + n, name: last.name, status: last.status, reason: last.reason, durationMs: last.durationMs, details: last.details });
  }
  if (stream.result.points.some((p) => p.findings?.length)) {
    // Symbolized on a copy; what it found enters the stream as events (never throws).
    const copy = structuredClone(stream.result);
    const note = await symbolizeCase(copy, env.store.dir, { cacheDir: env.cacheDir, log: env.log, fetch: env.symbols });
    if (note) env.log.info(`${c.id}: traces: ${note}`);
    for (const p of copy.points) {
      for (const [finding, f] of (p.findings ?? []).entries()) if (f.symbolized?.length) await stream.emit({ type: 'symbolized', point: p.id, finding, frames: f.symbolized });
    }
  }
  const r = stream.result;
  if (r.status === 'fail' || r.status === 'error') {
    // The bundle copies what the store wrote so far (console, commands): let it catch up first.
    await stream.done();
    try {
      const dir = await writeRepro({ caseDir: env.store.caseDir(c.id), result: r, run: env.store.run, scenario: c.scenario, sshKey: env.keys.clientKey, hostPub: env.keys.hostPub });
      await stream.emit({ type: 'file', name: 'repro', path: relative(env.store.dir, dir) });
    } catch (err) {
      env.log.warn(`${c.id}: cannot write the reproducer bundle: ${describeError(err)}`);
    }
  }
  await stream.emit({ type: 'case-ended' });
}

/**
 * End a case that did not run (interrupted before it started, or a harness
 * bug stopped its group): whatever it emitted stays, a missing boot point and
 * every step not reported yet get `status` with the reason.
 */
export async function endUnrun(c: Case, stream: CaseStream, status: Status, reason: string): Promise<void> {
  if (stream.ended) return;
  if (!stream.started) await stream.emit({ type: 'case-started', id: c.id, scenario: c.scenario.name, file: c.scenario.file, files: {} });
  const points = stream.result.points;
  if (!points.some((p) => p.kind === 'boot')) await stream.emit({ type: 'boot-ended', status, reason, durationMs: 0, failedAttempts: [] });
  const reported = stream.result.points.filter((p) => p.kind === 'step').length;
  await markRest(c.scenario, reported, stream.emit, 'miss', reason);
  await stream.emit({ type: 'case-ended' });
}
