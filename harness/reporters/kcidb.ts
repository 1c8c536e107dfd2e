import { safeName } from '../common/names.js';
import type { CaseResult, PointResult, RunResult, Status } from '../model/results.js';
import { diagnostic } from './tap.js';

/** The KCIDB I/O schema version written (kernelci/kcidb-io `kcidb_io/schema/v05_03.py`). */
export const KCIDB_VERSION = { major: 5, minor: 3 } as const;
/** KCIDB origins are `[a-z0-9_]+`. */
export const ORIGIN_RE = /^[a-z0-9_]+$/;
/** KCIDB's limit on log_excerpt. */
const MAX_EXCERPT = 16384;

const STATUS: Record<Status, 'PASS' | 'FAIL' | 'ERROR' | 'MISS' | 'SKIP'> = { pass: 'PASS', fail: 'FAIL', error: 'ERROR', miss: 'MISS', skip: 'SKIP' };

/** One KCIDB path segment: `[a-zA-Z0-9_-]+` (other characters become `_`). */
export function pathSegment(s: string): string {
  return s.replace(/[^a-zA-Z0-9_-]+/g, '_').replace(/^_+|_+$/g, '') || '_';
}

/** `ramdax.<scenario>[.<case, when it differs from the scenario>]`, e.g. ramdax.fsdax-filesystems.fs_xfs. */
export function casePath(c: Pick<CaseResult, 'id' | 'scenario'>): string {
  const rest = c.id.startsWith(c.scenario) ? c.id.slice(c.scenario.length) : c.id;
  return ['ramdax', pathSegment(c.scenario), ...(pathSegment(rest) === '_' ? [] : [pathSegment(rest)])].join('.');
}

type Obj = Record<string, unknown>;

/**
 * A KCIDB v5.3 submission (pure): a checkout and a build per kernel the run
 * booted, a test per case (`ramdax.<scenario>[.<case>]`), one per point below it
 * (`….<step>`), and a DONE test per measured metric (`….<step>.<metric>`, its
 * median as `number`). Ids are `<origin>:<run id>…`.
 */
export function kcidbReport(run: RunResult, origin = 'ramdax'): Obj {
  if (!ORIGIN_RE.test(origin)) throw new Error(`KCIDB origin '${origin}' must match [a-z0-9_]+`);
  const checkouts = new Map<string, Obj>();
  const builds = new Map<string, Obj>();
  const tests: Obj[] = [];
  for (const c of run.cases) {
    const k = c.kernel;
    const kname = k ? `${pathSegment(k.name)}-${k.release}` : 'unknown-kernel';
    const checkoutId = `${origin}:${kname}`;
    const buildId = `${origin}:${kname}-${(k ? Object.values(k.sha256).join('') : '').slice(0, 16) || 'unknown'}`;
    if (!checkouts.has(checkoutId)) checkouts.set(checkoutId, { id: checkoutId, origin, comment: k ? `${k.name} ${k.release} (${k.source})` : 'kernel unknown (the case ended before it was resolved)', ...(k ? { misc: { kind: k.kind ?? 'unknown', source: k.source } } : {}) });
    if (!builds.has(buildId)) builds.set(buildId, { id: buildId, origin, checkout_id: checkoutId, architecture: 'x86_64', ...(k ? { comment: `${k.name} ${k.release}`, misc: { sha256: k.sha256, ramdax: k.ramdax } } : {}) });
    const base = `${origin}:${run.runId}.${safeName(c.id)}`;
    const env = environment(run, c);
    const path = casePath(c);
    tests.push(clean({ id: base, origin, build_id: buildId, path, status: STATUS[c.status], start_time: c.startedAt, duration: c.durationMs / 1000, environment: env, comment: c.reason, log_excerpt: c.reason ? excerpt(c.reason) : undefined, misc: { run_id: run.runId, case_id: c.id, file: c.file, cmdline: c.cmdline } }));
    const seen = new Set<string>();
    for (const p of c.points) {
      let seg = pathSegment(p.name);
      // Two steps of the same name stay apart (paths are not required unique, ids are; paths should still say which).
      if (seen.has(seg)) seg = `${seg}-${p.id}`;
      seen.add(seg);
      tests.push(pointTest(p, `${base}.${p.id}`, `${path}.${seg}`, origin, buildId, c, env));
      for (const m of p.metrics ?? []) {
        tests.push({ id: `${base}.${p.id}.${pathSegment(m.name)}`, origin, build_id: buildId, path: `${path}.${seg}.${pathSegment(m.name)}`, status: 'DONE', start_time: c.startedAt, number: { value: m.median, unit: m.unit }, environment: env, misc: { samples: m.samples, spread: m.spread, better: m.better, key: m.key } });
      }
    }
  }
  return { version: { ...KCIDB_VERSION }, checkouts: [...checkouts.values()], builds: [...builds.values()], tests };
}

function pointTest(p: PointResult, id: string, path: string, origin: string, buildId: string, c: CaseResult, env: Obj): Obj {
  const failing = p.status === 'fail' || p.status === 'error';
  const log = failing ? diagnostic(p).join('\n') : p.reason;
  return clean({ id, origin, build_id: buildId, path, status: STATUS[p.status], start_time: c.startedAt, duration: p.durationMs / 1000, environment: env, comment: p.reason, log_excerpt: log ? excerpt(log) : undefined, misc: { kind: p.kind, point: p.id } });
}

/** QEMU, accelerator and machine: the test environment as KCIDB has it (comment + misc). */
function environment(run: RunResult, c: CaseResult): Obj {
  const m = c.machine;
  const comment = [run.qemu, c.accel ? `accel ${c.accel.accel}` : undefined, m ? `${m.type}, ${m.cpus} CPUs, ${Math.round(m.memoryBytes / 2 ** 20)} MiB` : undefined].filter(Boolean).join('; ');
  return clean({ comment: comment || undefined, misc: clean({ qemu: run.qemu, accel: c.accel?.accel, accel_reason: c.accel?.reason, machine: m, host_cpu: run.host.cpu, host_cores: run.host.cores, image: c.image?.name }) });
}

/** The last KCIDB-sized part of a log (the end is what says why), without NUL characters. */
function excerpt(s: string): string {
  const t = s.replace(/\0/g, '');
  return t.length <= MAX_EXCERPT ? t : `…${t.slice(t.length - MAX_EXCERPT + 1)}`;
}

/** KCIDB allows no null properties: drop undefined ones. */
function clean(o: Obj): Obj {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null));
}
