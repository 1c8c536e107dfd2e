/**
 * fio's `--output-format=json` report, parsed on the host (pure). Only the
 * fields the harness records are read; anything missing is an error, not a 0.
 */

export type FioDirection = 'read' | 'write';

export interface FioFigures {
  direction: FioDirection;
  /** MiB/s (bw_bytes / 2^20). */
  bwMiBs: number;
  iops: number;
  /** Completion-latency percentiles in µs. */
  latUs: { p50: number; p99: number; p99_9: number };
  ioBytes: number;
}

export interface FioReport {
  version: string;
  jobs: { name: string; error: number; figures: FioFigures[] }[];
}

const PERCENTILES = { p50: '50.000000', p99: '99.000000', 'p99_9': '99.900000' } as const;

/** fio may print warnings before its JSON on stdout: the report starts at the first line that is `{`. */
export function extractJson(stdout: string): string | undefined {
  const m = /^\{\s*$/m.exec(stdout);
  return m ? stdout.slice(m.index) : undefined;
}

export function parseFioJson(stdout: string): FioReport {
  const text = extractJson(stdout);
  if (text === undefined) throw new Error(`no JSON report in fio's output: ${stdout.trim().slice(0, 200)}`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`fio's JSON report does not parse: ${(err as Error).message}`);
  }
  const d = doc as { 'fio version'?: unknown; jobs?: unknown };
  if (!d || typeof d !== 'object' || !Array.isArray(d.jobs)) throw new Error('fio JSON has no jobs list');
  return {
    version: String(d['fio version'] ?? 'unknown'),
    jobs: d.jobs.map((j: Record<string, unknown>, i: number) => ({
      name: String(j.jobname ?? `job${i}`),
      error: num(j.error, `jobs[${i}].error`),
      figures: (['read', 'write'] as const).flatMap((dir) => figures(j[dir], dir, `jobs[${i}].${dir}`)),
    })),
  };
}

/** A direction's figures, or none when it moved no data. */
function figures(raw: unknown, direction: FioDirection, at: string): FioFigures[] {
  if (!raw || typeof raw !== 'object') throw new Error(`fio JSON lacks ${at}`);
  const r = raw as Record<string, unknown>;
  const ioBytes = num(r.io_bytes, `${at}.io_bytes`);
  if (ioBytes === 0) return [];
  const clat = r.clat_ns as { percentile?: Record<string, unknown> } | undefined;
  const pct = clat?.percentile;
  if (!pct) throw new Error(`fio JSON lacks ${at}.clat_ns.percentile`);
  const latUs = Object.fromEntries(Object.entries(PERCENTILES).map(([k, field]) => [k, num(pct[field], `${at}.clat_ns.percentile.${field}`) / 1000])) as FioFigures['latUs'];
  return [{ direction, bwMiBs: num(r.bw_bytes, `${at}.bw_bytes`) / 1024 ** 2, iops: num(r.iops, `${at}.iops`), latUs, ioBytes }];
}

function num(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`fio JSON: ${at} is not a number`);
  return v;
}
