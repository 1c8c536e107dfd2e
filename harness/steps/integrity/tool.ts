/**
 * The guest side of fill/verify: fill-tool.py, sent on stdin to the guest's
 * python3 (nothing is installed in the image), and its JSON-lines report.
 *
 * Why not fio: fio's verify headers do record each block's offset, but fio
 * checks a per-block random seed first (a moved block is reported as "bad
 * header rand_seed", not as "holds the data of block N"), a devdax block must
 * be a whole alignment unit (1 GiB buffers at 1G alignment), and after the
 * first mismatch it stops unless told to go on. The tool names where every
 * wrong block came from, maps a devdax device of any alignment once, and
 * reports at most a few blocks in detail plus the bad ranges.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { command } from '../../common/shell-quote.js';
import type { StepRecorder } from '../recorder.js';
import { StepFailure } from '../recorder.js';
import { inflateSync } from 'node:zlib';
import type { LabelSnapshot } from './labels.js';
import type { Segment } from './pattern.js';

const SCRIPT = readFileSync(new URL('./fill-tool.py', import.meta.url), 'utf8');

const Found = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('zeros') }),
  z.object({ kind: z.literal('ones') }),
  z.object({
    kind: z.literal('block'),
    name: z.string(),
    seed: z.number(),
    block: z.number(),
    offset: z.number(),
    tag: z.number(),
    intact: z.boolean(),
    diffBytes: z.number().optional(),
    firstDiff: z.number().optional(),
    got: z.string().optional(),
    want: z.string().optional(),
  }),
  z.object({ kind: z.literal('header'), blockSize: z.number() }),
  z.object({ kind: z.literal('unit'), at: z.number(), block: z.number(), offset: z.number(), seed: z.number(), tag: z.number() }),
  z.object({ kind: z.literal('unknown') }),
]);
export type Found = z.output<typeof Found>;

const Bad = z.object({
  event: z.literal('bad'),
  block: z.number(),
  offset: z.number(),
  seed: z.number(),
  diffBytes: z.number(),
  firstDiff: z.number(),
  lastDiff: z.number(),
  got: z.string(),
  want: z.string(),
  found: Found,
});
export type BadBlock = Omit<z.output<typeof Bad>, 'event'>;

const Job = { job: z.number().int().min(0) };

const Event = z.discriminatedUnion('event', [
  z.object({ event: z.literal('labels'), ...Job, dimm: z.string().regex(/^nmem\d+$/), size: z.number(), enc: z.enum(['zlib', 'raw']), data: z.string() }),
  z.object({ event: z.literal('start'), ...Job, op: z.string(), dev: z.string(), size: z.number(), blocks: z.number(), bs: z.number() }),
  Bad.extend(Job),
  z.object({ event: z.literal('done'), ...Job, op: z.string(), blocks: z.number(), bytes: z.number(), bad: z.number(), ranges: z.array(z.tuple([z.number(), z.number()])), moreRanges: z.number(), seconds: z.number() }),
  z.object({ event: z.literal('error'), job: z.number(), message: z.string() }),
]);

/** What one pattern job (write or verify) reported. */
export interface ToolReport {
  size?: number;
  bad: BadBlock[];
  done?: { blocks: number; bytes: number; bad: number; ranges: [number, number][]; moreRanges: number; seconds: number };
}

/** What one run of the tool reported, job by job. */
export interface ToolRun {
  /** Label areas read by `labels` jobs, by job index. */
  labels: Map<number, LabelSnapshot>;
  /** Pattern jobs, by job index. */
  patterns: Map<number, ToolReport>;
  /** The first problem: an error event, or output that is not one of the tool's events. */
  error?: string;
}

/** The tool's stdout, line by line (pure). */
export function parseToolOutput(stdout: string): ToolRun {
  const out: ToolRun = { labels: new Map(), patterns: new Map() };
  const pattern = (job: number) => {
    let p = out.patterns.get(job);
    if (!p) out.patterns.set(job, (p = { bad: [] }));
    return p;
  };
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    let ev: z.output<typeof Event>;
    try {
      ev = Event.parse(JSON.parse(line));
    } catch {
      out.error ??= `unexpected output from the fill tool: ${line.slice(0, 200)}`;
      continue;
    }
    if (ev.event === 'labels') {
      let snap = out.labels.get(ev.job);
      if (!snap) out.labels.set(ev.job, (snap = new Map()));
      try {
        const raw = Buffer.from(ev.data, 'base64');
        const bytes = ev.enc === 'zlib' ? inflateSync(raw) : raw;
        if (bytes.length !== ev.size) throw new Error('size');
        snap.set(ev.dimm, bytes);
      } catch {
        out.error ??= `the label area of ${ev.dimm} did not arrive intact`;
      }
    } else if (ev.event === 'start') pattern(ev.job).size = ev.size;
    else if (ev.event === 'bad') {
      const { event: _e, job, ...b } = ev;
      pattern(job).bad.push(b);
    } else if (ev.event === 'done') {
      const { event: _e, op: _o, job, ...d } = ev;
      pattern(job).done = d;
    } else out.error ??= ev.message;
  }
  return out;
}

export interface PatternJob {
  op: 'write' | 'verify';
  dev: string;
  dax: boolean;
  bs: number;
  name: string;
  tag: number;
  segments: Segment[];
}

export type Job = PatternJob | { op: 'labels' };

/**
 * Run the tool's jobs in the guest, in order. A tool that cannot do its job
 * (no python3, a device it cannot open, a pattern job that did not finish)
 * fails the step.
 */
export async function runTool(r: StepRecorder, jobs: Job[], max = 16): Promise<ToolRun> {
  const res = await r.sh(`python3 - ${command(JSON.stringify({ jobs, max }))}`, { allowFail: true, stdin: SCRIPT });
  const run = parseToolOutput(res.stdout);
  const unfinished = jobs.findIndex((j, i) => j.op !== 'labels' && !run.patterns.get(i)?.done);
  if (run.error || unfinished >= 0 || res.exitCode !== 0) {
    const why = run.error ?? (res.stderr.trim().split('\n').at(-1) || `exit ${res.exitCode ?? res.signal}${unfinished >= 0 ? `, job ${unfinished + 1} of ${jobs.length} unfinished` : ''}`);
    throw new StepFailure(`fill tool failed: ${why}`);
  }
  // A labels job on a guest without DIMMs prints nothing: an empty snapshot.
  jobs.forEach((j, i) => j.op === 'labels' && !run.labels.has(i) && run.labels.set(i, new Map()));
  return run;
}
