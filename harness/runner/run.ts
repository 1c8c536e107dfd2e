import { createWriteStream } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { describeError, infraError } from '../common/errors.js';
import { ExitCode, type ExitCodeValue } from '../common/exit-codes.js';
import type { Logger } from '../common/log.js';
import type { Case } from '../matrix/case.js';
import type { RunResult } from '../model/results.js';
import { rollUp } from '../model/status.js';
import { planBoots } from '../plan/boot-groups.js';
import { CaseStream } from '../reporters/case-stream.js';
import { LogReporter } from '../reporters/log.js';
import { Multiplexer, type PlannedCase, type Reporter } from '../reporters/reporter.js';
import { TapReporter } from '../reporters/tap.js';
import { ResultStore } from '../results/store.js';
import type { KeyPaths } from '../setup/keys.js';
import { killAllVmsSync } from '../vm/qemu.js';
import { endUnrun, runBootGroup, type CaseEnv } from './case.js';
import { hostEffects, type Effects } from './effects.js';
import type { ChangedLines } from '../coverage/patch-lines.js';
import { finishCoverage } from '../coverage/run-end.js';
import type { Arch } from '../common/arch.js';
import { qemuFor } from './machine.js';

export interface RunOptions {
  cases: Case[];
  resultsRoot: string;
  cacheDir: string;
  keys: KeyPaths;
  jobs: number;
  qemuBinary: string;
  /** Emulators for other guest architectures (default qemu-system-aarch64 for arm64). */
  qemuBinaries?: Partial<Record<Arch, string>>;
  log: Logger;
  /** Extra reporters besides the result store, the log and TAP (on stdout and in the run folder). */
  reporters?: Reporter[];
  stdout?: (text: string) => void;
  version: string;
  firstSshPort?: number;
  /** The host by default; fakes in unit tests. */
  effects?: Effects;
  /** Besides SIGINT/SIGTERM: aborting this interrupts the run the same way. */
  interrupt?: AbortSignal;
  /** Fetch missing debug symbols (Debian -dbg) to symbolize kernel traces. */
  symbols?: boolean;
  /** `run --coverage`: collect gcov counters per case and write results/<run>/coverage/ (with `changed`: patch coverage too). */
  coverage?: { changed?: ChangedLines };
}

/** Runs cases: what `run`, `repro` and each bisect step call. */
export type RunCases = (o: RunOptions) => Promise<{ exitCode: ExitCodeValue; run: RunResult }>;

export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[:.]/g, '-').replace(/-\d{3}Z$/, 'Z')}-${process.pid}`;
}

/** Run cases, stream TAP, keep results on disk as they finish; returns the exit status. */
export const runCases: RunCases = async (o) => {
  const fx = o.effects ?? hostEffects(o.keys);
  // What earlier harness processes killed without cleaning up left behind goes first (the real host only).
  await fx.lifecycle(o.cacheDir, o.log);
  // The emulator of each architecture the run boots (one version line; they are one package on Debian).
  const arches = o.cases.length ? [...new Set(o.cases.map((c) => c.scenario.machine.arch))] : (['x86_64'] as Arch[]);
  const versions = await Promise.all(arches.map((a) => fx.qemuVersion(qemuFor(o, a))));
  const qemu = [...new Set(versions.filter((v) => v !== undefined))].join('; ') || undefined;
  const startedAt = new Date(fx.clock.now());
  const store = await ResultStore.create(o.resultsRoot, {
    runId: newRunId(startedAt),
    startedAt: startedAt.toISOString(),
    status: 'running',
    harness: { version: o.version, node: process.version },
    qemu,
    host: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, loadavg: loadavg(), memTotalBytes: totalmem(), kernel: release() },
    cases: [],
    counts: { pass: 0, fail: 0, error: 0, miss: 0, skip: 0 },
  }).catch((err) => {
    throw infraError(`cannot create a run folder in ${o.resultsRoot}: nothing was started`, err);
  });
  const tapFile = createWriteStream(join(store.dir, 'results.tap'));
  tapFile.on('error', (err) => (store.writeError ??= new Error(`cannot write results.tap: ${err.message}`)));
  const write = o.stdout ?? ((t: string) => process.stdout.write(t));
  const tapOut = (t: string) => {
    write(t);
    tapFile.write(t);
  };
  const tap = new TapReporter(tapOut);
  // The store first: a case is on disk before it is reported done.
  const reporter = new Multiplexer([store, new LogReporter(o.log), tap, ...(o.reporters ?? [])], (m) => o.log.warn(m));
  const planned: PlannedCase[] = o.cases.map((c) => ({ id: c.id, scenario: c.scenario.name, steps: c.scenario.steps.length }));
  o.log.info(`run ${store.run.runId}: ${o.cases.length} case(s), results in ${store.dir}`);

  // SIGINT/SIGTERM: stop starting cases, let running ones mark their rest, flush, exit 130.
  const interrupt = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    o.log.warn(`${sig}: stopping — unfinished tests are marked, results kept${signals > 1 ? ' (again: killing QEMU now)' : ''}`);
    interrupt.abort(new Error(`interrupted by ${sig}`));
    if (signals > 1) killAllVmsSync();
  };
  const onAbort = () => interrupt.abort(o.interrupt?.reason);
  o.interrupt?.addEventListener('abort', onAbort, { once: true });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Once per process, for good: whatever happens, no QEMU outlives the harness.
  if (!process.listeners('exit').includes(killAllVmsSync)) process.on('exit', killAllVmsSync);

  await reporter.onRunBegin(store.run, planned);
  const env: CaseEnv = { store, keys: o.keys, cacheDir: o.cacheDir, qemuBinary: o.qemuBinary, qemuBinaries: o.qemuBinaries, log: o.log, interrupt: interrupt.signal, firstSshPort: o.firstSshPort, symbols: o.symbols, coverage: !!o.coverage, fx };
  const limit = pLimit(Math.max(1, o.jobs));
  const index = new Map(o.cases.map((c, i) => [c, planned[i]!]));
  await Promise.all(
    planBoots(o.cases).map((boot) =>
      limit(async () => {
        const group = boot.cases.map((c) => ({ c, stream: new CaseStream(index.get(c)!, reporter, fx.clock) }));
        if (!interrupt.signal.aborted) o.log.step(`${boot.cases[0]!.id}: booting ${boot.cases[0]!.scenario.kernel}${boot.cases.length > 1 ? ` for ${boot.cases.length} cases (shareBoot)` : ''}`);
        try {
          await runBootGroup(group, env);
        } catch (err) {
          // runBootGroup ends every case it starts; this is a harness bug, still reported.
          for (const { c, stream } of group) await endUnrun(c, stream, 'error', `harness error: ${describeError(err)}`);
        }
        for (const { stream } of group) await stream.done();
      }),
    ),
  );
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  o.interrupt?.removeEventListener('abort', onAbort);

  store.run.endedAt = new Date(fx.clock.now()).toISOString();
  store.run.host.loadavgAfter = loadavg();
  store.run.status = interrupt.signal.aborted ? 'interrupted' : rollUp(store.run.cases.map((c) => c.status));
  await store.flush();
  if (o.coverage) await finishCoverage(store.run, { log: o.log, changed: o.coverage.changed, tap: tapOut });
  await reporter.onRunEnd(store.run);
  await new Promise<void>((r) => tapFile.end(r));
  await store.close();
  const c = store.run.counts;
  o.log.info(`${c.pass} passed, ${c.fail} failed, ${c.error} errors, ${c.miss} missed, ${c.skip} skipped — ${store.dir}`);
  if (store.writeError && store.run.status !== 'interrupted') {
    o.log.warn(`results are incomplete on disk: ${store.writeError.message}`);
    return { exitCode: ExitCode.infra, run: store.run };
  }
  return { exitCode: exitCodeFor(store.run.status), run: store.run };
};

export function exitCodeFor(status: RunResult['status']): ExitCodeValue {
  switch (status) {
    case 'interrupted':
      return ExitCode.interrupted;
    case 'error':
      return ExitCode.infra;
    case 'fail':
    case 'miss':
      return ExitCode.testFailed;
    default:
      return ExitCode.ok;
  }
}
