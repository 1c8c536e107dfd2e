import { z } from 'zod';
import { formatSize } from '../common/units.js';
import { CHECKPOINT_REBOOT, CHECKPOINT_WORDS, failOn, judgeVerify, LabelGuard, noteWrite, passCheckpoint, patternJob, type Checkpoint } from './integrity/check.js';
import { probeTarget, targetOf } from './integrity/device.js';
import { extentBlocks, tagOf, type Layer } from './integrity/pattern.js';
import { runTool, type Job } from './integrity/tool.js';
import { PowerOfTwoSize, Size } from '../model/values.js';
import { runBody, StepFailure } from './recorder.js';
import type { RebootMethod, StepKind } from './types.js';

export const NsName = z.string().regex(/^[a-z][a-z0-9_]*$/i, 'a namespace name is letters, digits and _').max(16, 'a namespace name to fill is at most 16 characters (it is written into every block)');

const CHECKPOINTS = ['after-write', 'after-rebind', 'after-reboot', 'after-power-cycle', 'after-kexec'] as const;

const Params = z
  .object({
    /** The namespace (an earlier `as:` name) whose block or devdax device is written. */
    namespace: NsName,
    /** Goes into every block with its offset: a fill with another seed, or an older one, is told apart. */
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(1),
    /** all: the whole device; edges: its first and last `edge` bytes; or { offset, length }. */
    extent: z.union([z.enum(['all', 'edges']), z.object({ offset: Size, length: Size.refine((n) => n > 0, 'length must be positive') }).strict()]).default('all'),
    /** Bytes at each end for `extent: edges` (default: one block). */
    edge: Size.refine((n) => n > 0, 'edge must be positive').optional(),
    /** Bytes per self-describing block (header + position-dependent payload). */
    block: PowerOfTwoSize.refine((n) => n >= 512 && n <= 1024 ** 2, 'block is a power of two from 512 to 1M').default(4096),
    /** When to read everything back, in order: right away, after rebinding ramdax, after a warm reboot, a power cycle, a kexec. */
    verify: z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(z.enum(CHECKPOINTS, { error: `a checkpoint is one of ${CHECKPOINTS.join(', ')}` }))).default(['after-write']),
    /** Label areas: check (against the last data step's, and unchanged by this one), fresh (only unchanged by this one), ignore. */
    labels: z.enum(['check', 'fresh', 'ignore']).default('check'),
  })
  .strict()
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    p.verify.forEach((c, i) => {
      if (seen.has(c)) ctx.addIssue({ code: 'custom', path: ['verify', i], message: `checkpoint '${c}' is listed twice` });
      seen.add(c);
      if (c === 'after-write' && i > 0) ctx.addIssue({ code: 'custom', path: ['verify', i], message: 'after-write comes first (it is the read-back right after the write)' });
    });
    const mult = (n: number, what: string[]) => n % p.block !== 0 && ctx.addIssue({ code: 'custom', path: what, message: `${what.join('.')} must be a whole number of blocks (${formatSize(p.block)})` });
    if (typeof p.extent === 'object') {
      mult(p.extent.offset, ['extent', 'offset']);
      mult(p.extent.length, ['extent', 'length']);
    }
    if (p.extent === 'edges' && p.edge !== undefined) mult(p.edge, ['edge']);
  });
type Params = z.output<typeof Params>;

const extentText = (p: Params) =>
  p.extent === 'all' ? '' : p.extent === 'edges' ? ` edges (${formatSize(p.edge ?? p.block)} each)` : ` ${formatSize(p.extent.length)} at ${formatSize(p.extent.offset)}`;

/**
 * Fill a namespace with a position-dependent pattern (every block carries the
 * namespace's name, the seed, its block number and offset), read it back at
 * each checkpoint, and check that no DIMM's label area changed.
 */
export const fillStep: StepKind<Params> = {
  kind: 'fill',
  summary: 'write a position-dependent pattern to a namespace, verify it after the write/rebind/reboot/power cycle, label areas unchanged',
  schema: Params as unknown as z.ZodType<Params, unknown>,
  shorthand: (namespace) => ({ namespace }),
  title: (p) => `fill ${p.namespace}${extentText(p)} seed ${p.seed}, verify ${p.verify.map((c) => c.replace('after-', '')).join(', ') || 'never'}`,
  uses: (p) => [{ name: p.namespace, param: 'namespace' }],
  fills: (p) => [p.namespace],
  crossCheck: (p, defined, filled) => {
    const mode = (defined.get(p.namespace) as { mode?: string } | undefined)?.mode;
    if (mode && !['raw', 'sector', 'fsdax', 'devdax'].includes(mode)) return { param: 'namespace', message: `namespace '${p.namespace}' (${mode}) has no device to fill` };
    const before = filled.get(p.namespace) as { block?: number } | undefined;
    if (before?.block !== undefined && before.block !== p.block) return { param: 'block', message: `namespace '${p.namespace}' was filled with ${formatSize(before.block)} blocks before: keep one block size per namespace` };
    return undefined;
  },
  reboots: (p) => (p.verify ?? []).map((c: Checkpoint) => CHECKPOINT_REBOOT[c]).filter((m): m is RebootMethod => m !== undefined),
  run: (ctx, p) =>
    runBody(ctx, async (r) => {
      const by = `'${ctx.stepName ?? fillStep.title(p)}'`;
      const ns = ctx.namespaces.get(p.namespace);
      if (!ns) throw new StepFailure(`namespace '${p.namespace}' does not exist (was it created, or destroyed since?)`);
      const t = targetOf(p.namespace, ns);
      const { size, mountedAt } = await probeTarget(r, t);
      if (mountedAt) throw new StepFailure(`namespace '${p.namespace}' (${ns.blockdev}) is mounted at ${mountedAt}: filling it would overwrite the file system`);
      const ranges = extentBlocks(p.extent, Math.floor(size / p.block), p.block, p.edge ?? p.block);
      if (typeof ranges === 'string') throw new StepFailure(`${t.path} (${size} bytes): ${ranges}`);
      const layers: Layer[] = ranges.map(([first, end]) => ({ first, end, seed: p.seed, by }));
      Object.assign(r.details, { device: t.path, deviceBytes: size, blocks: ranges, seed: p.seed, bs: p.block });
      ns.fill ??= { bs: p.block, name: p.namespace, tag: tagOf(p.namespace), layers: [] };
      const write = patternJob(ctx, p.namespace, 'write', layers);
      ns.fill.layers.push(...layers);
      const labels = new LabelGuard(ctx, r, p.labels);
      const lab: Job[] = labels.enabled ? [{ op: 'labels' }] : [];
      const rest = p.verify[0] === 'after-write' ? p.verify.slice(1) : p.verify;
      const verify = p.verify[0] === 'after-write' ? [patternJob(ctx, p.namespace, 'verify')] : [];
      // One tool run: labels, write, labels, read back.
      const jobs: Job[] = [...lab, write, ...lab, ...verify];
      const run = await runTool(r, jobs);
      const wi = lab.length;
      noteWrite(r, ctx, p.namespace, write, run.patterns.get(wi)!);
      const problems = [labels.start(run.labels.get(0) ?? new Map()), labels.compare(run.labels.get(wi + 1) ?? new Map(), 'while the data was written')];
      if (verify[0]) problems.push(await judgeVerify(r, ctx, p.namespace, verify[0], run.patterns.get(jobs.length - 1)!, CHECKPOINT_WORDS['after-write']));
      failOn(problems);
      for (const cp of rest) {
        const words = CHECKPOINT_WORDS[cp];
        await passCheckpoint(r, ctx, cp);
        const job = patternJob(ctx, p.namespace, 'verify');
        const again = await runTool(r, [job, ...lab]);
        failOn([labels.compare(again.labels.get(1) ?? new Map(), words), await judgeVerify(r, ctx, p.namespace, job, again.patterns.get(0)!, words)]);
      }
      labels.commit(by);
    }),
};
