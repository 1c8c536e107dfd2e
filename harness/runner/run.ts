import { createWriteStream } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { execa } from 'execa';
import { describeError, infraError } from '../common/errors.js';
import { ExitCode, type ExitCodeValue } from '../common/exit-codes.js';
import type { Logger } from '../common/log.js';
import { notRun, runBootGroup, type Case, type CaseEnv } from './case.js';
import { planBoots } from '../plan/boot-groups.js';
import type { CaseResult, RunResult, Status } from '../results/model.js';
import { ResultStore } from '../results/store.js';
import { Multiplexer, type PlannedCase, type Reporter } from '../reporters/reporter.js';
import { TapReporter } from '../reporters/tap.js';
import type { KeyPaths } from '../setup/keys.js';
import { killAllVmsSync } from '../vm/qemu.js';
import { startVmLifecycle } from '../vm/lifecycle.js';
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
  /** Extra reporters besides TAP on stdout and in the run folder. */
  reporters?: Reporter[];
  stdout?: (text: string) => void;
  version: string;
  firstSshPort?: number;
  /** Fetch missing debug symbols (Debian -dbg) to symbolize kernel traces. */
  symbols?: boolean;
  /** `run --coverage`: collect gcov counters per case and write results/<run>/coverage/ (with `changed`: patch coverage too). */
  coverage?: { changed?: ChangedLines };
}

export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[:.]/g, '-').replace(/-\d{3}Z$/, 'Z')}-${process.pid}`;
}

/** Run cases, stream TAP, keep results on disk as they finish; returns the exit status. */
export async function runCases(o: RunOptions): Promise<{ exitCode: ExitCodeValue; run: RunResult }> {
  await startVmLifecycle(o.cacheDir, o.log);
  // The emulator of each architecture the run boots (one version line; they are one package on Debian).
  const arches = o.cases.length ? [...new Set(o.cases.map((c) => c.scenario.machine.arch))] : (['x86_64'] as Arch[]);
  const versions = await Promise.all(
    arches.map((a) => execa(qemuFor(o, a), ['--version'], { reject: false }).then((r) => (r.exitCode === 0 ? String(r.stdout).split('\n')[0] : `${qemuFor(o, a)}: not runnable`))),
  );
  const qemu = [...new Set(versions)].join('; ');
  const store = await ResultStore.create(o.resultsRoot, {
    runId: newRunId(),
    startedAt: new Date().toISOString(),
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
  const reporter = new Multiplexer([tap, ...(o.reporters ?? [])], (m) => o.log.warn(m));
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
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killAllVmsSync);

  await reporter.onRunBegin(store.run, planned);
  const env: CaseEnv = { store, reporter, cacheDir: o.cacheDir, keys: o.keys, qemuBinary: o.qemuBinary, qemuBinaries: o.qemuBinaries, log: o.log, interrupt: interrupt.signal, firstSshPort: o.firstSshPort, symbols: o.symbols, coverage: !!o.coverage };
  const limit = pLimit(Math.max(1, o.jobs));
  const index = new Map(o.cases.map((c, i) => [c, planned[i]!]));
  const done = async (c: Case, result: CaseResult) => {
    o.log.info(`${c.id}: ${result.status}${result.reason ? ` — ${result.reason}` : ''} (${(result.durationMs / 1000).toFixed(1)}s)${result.bootId && result.bootId !== c.id ? ` [boot of ${result.bootId}]` : ''}`);
    await store.addCase(result);
    await reporter.onCaseEnd(index.get(c)!, result);
  };
  await Promise.all(
    planBoots(o.cases).map((boot) =>
      limit(async () => {
        const finished = new Set<Case>();
        const group = boot.cases.map((c) => ({ c, planned: index.get(c)! }));
        if (!interrupt.signal.aborted) o.log.step(`${boot.cases[0]!.id}: booting ${boot.cases[0]!.scenario.kernel}${boot.cases.length > 1 ? ` for ${boot.cases.length} cases (shareBoot)` : ''}`);
        try {
          await runBootGroup(group, env, async (c, r) => {
            finished.add(c);
            await done(c, r);
          });
        } catch (err) {
          // runBootGroup turns every outcome into a result; this is a harness bug, still reported.
          for (const { c, planned: p } of group.filter((g) => !finished.has(g.c))) {
            const result = notRun(c, 'error', `harness error: ${describeError(err)}`);
            for (const pt of result.points) await reporter.onPoint(p, pt);
            await done(c, result);
          }
        }
      }),
    ),
  );
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);

  const statuses = store.run.cases.map((c) => c.status);
  store.run.endedAt = new Date().toISOString();
  store.run.host.loadavgAfter = loadavg();
  store.run.status = interrupt.signal.aborted ? 'interrupted' : worstCase(statuses);
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
}

function worstCase(statuses: Status[]): Status {
  for (const s of ['error', 'fail', 'miss'] as const) if (statuses.includes(s)) return s;
  return statuses.length && statuses.every((s) => s === 'skip') ? 'skip' : 'pass';
}

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
