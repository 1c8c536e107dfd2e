import { z } from 'zod';
import { failOn, judgeVerify, LabelGuard, patternJob } from './integrity/check.js';
import { runTool, type Job } from './integrity/tool.js';
import { refindNamespaces } from './integrity/device.js';
import { NsName } from './fill.js';
import { runBody, StepFailure } from './recorder.js';
import type { StepKind } from './types.js';

const Params = z
  .object({
    /** A filled namespace, a list of them, or `all` (every namespace filled so far). */
    namespace: z.union([z.literal('all'), NsName, z.array(NsName).min(1)]).transform((v) => (typeof v === 'string' && v !== 'all' ? [v] : v)),
    /** Label areas: check (against the last data step's), fresh (skip that comparison), ignore. */
    labels: z.enum(['check', 'fresh', 'ignore']).default('check'),
  })
  .strict();
type Params = z.output<typeof Params>;

/**
 * Re-check what earlier `fill` steps wrote — after a rebind, a reboot step, a
 * neighbour's fill or anything else — and that the label areas are as the last
 * data step left them. Namespaces are found again by uuid first.
 */
export const verifyStep: StepKind<Params> = {
  kind: 'verify',
  summary: 'read back what earlier fill steps wrote (namespaces found again by uuid) and compare the label areas with the last data step',
  // `verify: [a, b]` is short for `verify: { namespace: [a, b] }`.
  schema: z.preprocess((v) => (Array.isArray(v) ? { namespace: v } : v), Params) as unknown as z.ZodType<Params, unknown>,
  shorthand: (namespace) => ({ namespace }),
  title: (p) => `verify ${p.namespace === 'all' ? 'every filled namespace' : p.namespace.join(', ')}`,
  uses: (p) => (p.namespace === 'all' ? [] : p.namespace.map((name, i) => ({ name, param: typeof p.namespace === 'string' ? 'namespace' : ['namespace', i], filled: true }))),
  run: (ctx, p) =>
    runBody(ctx, async (r) => {
      const names = p.namespace === 'all' ? [...ctx.namespaces].filter(([, ns]) => ns.fill).map(([n]) => n) : p.namespace;
      if (names.length === 0) throw new StepFailure('no namespace has been filled yet');
      const missing = names.find((n) => !ctx.namespaces.get(n)?.fill);
      if (missing) throw new StepFailure(`namespace '${missing}' was never filled, or was destroyed since`);
      await refindNamespaces(r, new Map(names.map((n) => [n, ctx.namespaces.get(n)!])), 'since they were filled');
      const labels = new LabelGuard(ctx, r, p.labels);
      const lab: Job[] = labels.enabled ? [{ op: 'labels' }] : [];
      const jobs = names.map((n) => patternJob(ctx, n, 'verify'));
      const run = await runTool(r, [...lab, ...jobs]);
      const problems = [labels.start(run.labels.get(0) ?? new Map())];
      for (const [i, n] of names.entries()) problems.push(await judgeVerify(r, ctx, n, jobs[i]!, run.patterns.get(lab.length + i)!, 'on verify'));
      failOn(problems);
      labels.commit(`'${ctx.stepName ?? verifyStep.title(p)}'`);
    }),
};
