import { z } from 'zod';
import { failOn, LabelGuard, verifyData } from '../integrity/check.js';
import { refindNamespaces } from '../integrity/device.js';
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
  schema: Params as unknown as z.ZodType<Params, unknown>,
  shorthand: (namespace) => ({ namespace }),
  title: (p) => `verify ${p.namespace === 'all' ? 'every filled namespace' : p.namespace.join(', ')}`,
  uses: (p) => (p.namespace === 'all' ? [] : p.namespace.map((name, i) => ({ name, param: typeof p.namespace === 'string' ? 'namespace' : ['namespace', i], filled: true }))),
  run: (ctx, p) =>
    runBody(ctx, async (r) => {
      const names = p.namespace === 'all' ? [...ctx.namespaces].filter(([, ns]) => ns.fill).map(([n]) => n) : p.namespace;
      if (names.length === 0) throw new StepFailure('no namespace has been filled yet');
      const labels = new LabelGuard(ctx, r, p.labels);
      const labelProblem = await labels.begin().then(
        () => undefined,
        (err: unknown) => {
          if (err instanceof StepFailure) return err.message;
          throw err;
        },
      );
      const sub = new Map(names.map((n) => [n, ctx.namespaces.get(n)!]).filter(([, ns]) => ns !== undefined) as [string, NonNullable<ReturnType<typeof ctx.namespaces.get>>][]);
      await refindNamespaces(r, sub, 'since they were filled');
      const problems: (string | undefined)[] = [labelProblem];
      for (const name of names) problems.push(await verifyData(r, ctx, name, 'on verify'));
      failOn(problems);
      labels.commit(`'${ctx.stepName ?? verifyStep.title(p)}'`);
    }),
};
