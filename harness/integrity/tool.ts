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
import { command } from '../common/shell-quote.js';
import type { StepRecorder } from '../steps/recorder.js';
import { StepFailure } from '../steps/recorder.js';
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

const Event = z.discriminatedUnion('event', [
  z.object({ event: z.literal('start'), op: z.string(), dev: z.string(), size: z.number(), blocks: z.number(), bs: z.number() }),
  Bad,
  z.object({ event: z.literal('done'), op: z.string(), blocks: z.number(), bytes: z.number(), bad: z.number(), ranges: z.array(z.tuple([z.number(), z.number()])), moreRanges: z.number(), seconds: z.number() }),
  z.object({ event: z.literal('error'), message: z.string() }),
]);

export interface ToolReport {
  size?: number;
  bad: BadBlock[];
  done?: { blocks: number; bytes: number; bad: number; ranges: [number, number][]; moreRanges: number; seconds: number };
  error?: string;
}

/** The tool's stdout, line by line (pure). A line that is not one of its events is an error. */
export function parseToolOutput(stdout: string): ToolReport {
  const out: ToolReport = { bad: [] };
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    let ev: z.output<typeof Event>;
    try {
      ev = Event.parse(JSON.parse(line));
    } catch {
      out.error ??= `unexpected output from the fill tool: ${line.slice(0, 200)}`;
      continue;
    }
    if (ev.event === 'start') out.size = ev.size;
    else if (ev.event === 'bad') {
      const { event: _e, ...b } = ev;
      out.bad.push(b);
    } else if (ev.event === 'done') {
      const { event: _e, op: _o, ...d } = ev;
      out.done = d;
    } else out.error = ev.message;
  }
  return out;
}

export interface ToolArgs {
  op: 'write' | 'verify';
  dev: string;
  dax: boolean;
  bs: number;
  name: string;
  tag: number;
  segments: Segment[];
  /** Blocks reported in detail (the rest are counted and listed as ranges). */
  max?: number;
}

/** Run the tool in the guest; a tool that cannot do its job (no python3, cannot open the device) fails the step. */
export async function runTool(r: StepRecorder, args: ToolArgs): Promise<ToolReport> {
  const res = await r.sh(`python3 - ${command(JSON.stringify(args))}`, { allowFail: true, stdin: SCRIPT });
  const report = parseToolOutput(res.stdout);
  if (report.error || !report.done) {
    const why = report.error ?? (res.stderr.trim().split('\n').at(-1) || `exit ${res.exitCode ?? res.signal} without a report`);
    throw new StepFailure(`fill tool (${args.op} ${args.dev}) failed: ${why}`);
  }
  return report;
}
