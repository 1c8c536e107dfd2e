import { z } from 'zod';
import { command } from '../common/shell-quote.js';
import { formatSize } from '../common/units.js';
import { parseFioJson, type FioFigures } from '../perf/fio-json.js';
import { collect } from '../perf/metrics.js';
import type { Metric } from '../model/results.js';
import { Duration, Size } from '../model/values.js';
import { blockDevice, charDevice, isRef } from './device.js';
import { runBody, StepFailure } from './recorder.js';
import type { StepKind } from './types.js';

const Params = z
  .object({
    /** A file on a mounted file system, a /dev path (/dev/dax0.0, /dev/vdb, /dev/pmem0), or a namespace name. */
    target: z.union([
      z.string().regex(/^\/[A-Za-z0-9._/+-]+$/, 'a target is an absolute path of letters, digits and ._/+- or a namespace name'),
      z.string().regex(/^[a-z][a-z0-9_]*$/i, 'a target is an absolute path of letters, digits and ._/+- or a namespace name'),
    ]),
    rw: z.enum(['read', 'write', 'randread', 'randwrite']),
    bs: Size.refine((n) => n >= 512 && n <= 64 * 1024 ** 2, 'bs is between 512 and 64M').default(4096),
    ioengine: z.enum(['psync', 'sync', 'mmap', 'dev-dax', 'libaio']).default('psync'),
    size: Size.refine((n) => n > 0, 'size must be positive').default(64 * 1024 ** 2),
    /** Run for this long (time_based) instead of once over `size`. */
    runtime: Duration.optional(),
    /** O_DIRECT (bypass the page cache) for psync/libaio on block devices and files. */
    direct: z.boolean().default(false),
    /** Check data with this checksum after writing (`verify_fatal`: a mismatch fails the step). */
    verify: z.enum(['crc32c', 'md5', 'sha256', 'xxhash']).optional(),
    /** Samples (fio runs); default: `run --repeat`, else the scenario's `repeats:`, else 3. */
    repeats: z.number().int().min(1).max(100).optional(),
    /** `sync; echo 3 > drop_caches` before each run so every sample starts alike. */
    dropCaches: z.boolean().default(true),
    /** Name part of the metrics (default `<rw>-<bs>-<ioengine>`). */
    label: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i, 'use letters, digits, ".", "_" and "-"').max(60).optional(),
    /** What storage the target is (fsdax, pagecache, virtio-blk, tmpfs, …): the metrics' `backend` key, the report's series. */
    backend: z.string().regex(/^[a-z0-9][a-z0-9._=-]*$/i, 'use letters, digits, ".", "_", "=" and "-"').max(40).optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.ioengine === 'dev-dax' && !(isRef(p.target) || p.target.startsWith('/dev/dax'))) ctx.addIssue({ code: 'custom', path: ['target'], message: 'ioengine dev-dax needs a devdax device (/dev/daxX.Y or a devdax namespace name)' });
    if (p.verify && p.runtime !== undefined) ctx.addIssue({ code: 'custom', path: ['verify'], message: 'fio does not verify time-based jobs: drop runtime to verify' });
    if (p.verify && !p.rw.includes('write')) ctx.addIssue({ code: 'custom', path: ['verify'], message: 'verify checks data a write job wrote: use rw write or randwrite' });
  });
export type FioParams = z.output<typeof Params>;

export const defaultLabel = (p: FioParams) => `${p.rw}-${formatSize(p.bs).toLowerCase()}-${p.ioengine}`;

/** fio's argument list for one run (pure); `target` is the resolved guest path. */
export function fioArgv(p: FioParams, target: string): string[] {
  return [
    'fio',
    '--name=harness',
    `--filename=${target}`,
    `--rw=${p.rw}`,
    `--bs=${p.bs}`,
    `--ioengine=${p.ioengine}`,
    `--size=${p.size}`,
    ...(p.runtime !== undefined ? [`--runtime=${Math.max(1, Math.round(p.runtime / 1000))}`, '--time_based=1'] : []),
    ...(p.direct ? ['--direct=1'] : []),
    ...(p.verify ? [`--verify=${p.verify}`, '--verify_fatal=1', '--do_verify=1'] : []),
    '--output-format=json',
  ];
}

/** The direction a job measures: a write job's read section is its verify pass. */
const primary = (rw: FioParams['rw']): FioFigures['direction'] => (rw.includes('read') ? 'read' : 'write');

/** One run's figures as named samples (pure). */
export function fioSamples(label: string, f: FioFigures): { name: string; unit: string; better: Metric['better']; value: number }[] {
  const n = (stat: string) => `fio:${label}:${stat}`;
  return [
    { name: n('bw'), unit: 'MiB/s', better: 'higher', value: f.bwMiBs },
    { name: n('iops'), unit: 'IOPS', better: 'higher', value: f.iops },
    { name: n('lat-p50'), unit: 'µs', better: 'lower', value: f.latUs.p50 },
    { name: n('lat-p99'), unit: 'µs', better: 'lower', value: f.latUs.p99 },
    { name: n('lat-p99.9'), unit: 'µs', better: 'lower', value: f.latUs.p99_9 },
  ];
}

/** What makes two fio measurements comparable (the case adds kernel, image, accel). */
export function fioKey(p: FioParams, target: string): Record<string, unknown> {
  return { step: 'fio', ...(p.backend ? { backend: p.backend } : {}), target, rw: p.rw, bs: p.bs, ioengine: p.ioengine, size: p.size, runtimeMs: p.runtime ?? null, direct: p.direct, verify: p.verify ?? null, dropCaches: p.dropCaches };
}

export const fioStep: StepKind<FioParams> = {
  kind: 'fio',
  summary: 'run fio in the guest (JSON output parsed on the host): bandwidth, IOPS and latency percentiles as metrics, repeated',
  schema: Params as unknown as z.ZodType<FioParams, unknown>,
  title: (p) => `fio ${p.rw} bs=${formatSize(p.bs)} ${p.ioengine} on ${p.target}`,
  uses: (p) => (isRef(p.target) ? [{ name: p.target, param: 'target' }] : []),
  run: (ctx, p) =>
    runBody(ctx, async (r) => {
      const target = isRef(p.target) ? (p.ioengine === 'dev-dax' ? charDevice(ctx, p.target) : blockDevice(ctx, p.target)) : p.target;
      const repeats = p.repeats ?? ctx.repeats ?? 3;
      const label = p.label ?? defaultLabel(p);
      const isFile = !target.startsWith('/dev/');
      const samples: ReturnType<typeof fioSamples> = [];
      r.details.target = target;
      r.details.repeats = repeats;
      try {
        for (let i = 0; i < repeats; i++) {
          if (p.dropCaches) await r.sh('sync; echo 3 > /proc/sys/vm/drop_caches');
          const res = await r.sh(command(...fioArgv(p, target)), { allowFail: true });
          let report;
          try {
            report = parseFioJson(res.stdout);
          } catch (err) {
            throw new StepFailure(`fio run ${i + 1}/${repeats} exited ${res.exitCode}: ${(err as Error).message}${res.stderr.trim() ? ` — ${res.stderr.trim().split('\n').at(-1)}` : ''}`);
          }
          r.details.fio = report.version;
          const job = report.jobs[0];
          if (!job) throw new StepFailure('fio reported no job');
          r.check(job.error === 0 && res.exitCode === 0, `fio run ${i + 1}/${repeats} failed (exit ${res.exitCode}, job error ${job.error})${p.verify ? ' — verify mismatch?' : ''}: ${res.stderr.trim().split('\n').at(-1) ?? ''}`);
          const fig = job.figures.find((f) => f.direction === primary(p.rw));
          if (!fig) throw new StepFailure(`fio run ${i + 1}/${repeats} moved no ${primary(p.rw)} data`);
          samples.push(...fioSamples(label, fig));
        }
      } finally {
        r.metrics.push(...collect(samples, fioKey(p, target)));
        if (isFile) await r.sh(command('rm', '-f', target), { allowFail: true }).catch(() => undefined);
      }
      const bw = r.metrics.find((m) => m.name.endsWith(':bw'));
      if (bw) r.details.summary = `${bw.median.toFixed(1)} MiB/s median of ${bw.samples.length} (spread ${(bw.spread * 100).toFixed(1)} %)`;
    }),
};
