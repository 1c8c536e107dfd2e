import { z } from 'zod';
import { command } from '../common/shell-quote.js';
import { formatSize } from '../common/units.js';
import { PowerOfTwoSize, Size } from '../model/values.js';
import { chardevOf, type NdNamespace } from './ndctl.js';
import { runBody } from './recorder.js';
import type { StepKind } from './types.js';

const RefName = z.string().regex(/^[a-z][a-z0-9_]*$/i, 'a namespace name is letters, digits and _');

const Create = z
  .object({
    action: z.literal('create').default('create'),
    mode: z.enum(['fsdax', 'devdax', 'sector', 'raw']),
    size: Size.optional(),
    align: PowerOfTwoSize.optional(),
    map: z.enum(['dev', 'mem']).optional(),
    /** Region to create in (`region0`); ndctl picks one when omitted. */
    region: z.string().regex(/^region\d+$/, 'write the region as regionN').optional(),
    /** Name to refer to this namespace from later steps. */
    as: RefName.optional(),
    expect: z.object({ size: Size.optional() }).strict().default({}),
  })
  .strict();

const Destroy = z
  .object({
    action: z.literal('destroy'),
    /** A name from an earlier `as:`, or `all`. */
    target: z.union([z.literal('all'), RefName]),
  })
  .strict();

const Params = z.discriminatedUnion('action', [Create, Destroy]);
type Params = z.output<typeof Params>;

export const namespaceStep: StepKind<Params> = {
  kind: 'namespace',
  summary: 'ndctl create-namespace (mode, size, align, map) with size/mode checks, or destroy-namespace',
  schema: z.preprocess((v) => (v && typeof v === 'object' && !('action' in v) ? { ...v, action: 'create' } : v), Params) as z.ZodType<Params, unknown>,
  title: (p) =>
    p.action === 'destroy'
      ? `destroy namespace ${p.target}`
      : `create ${p.mode} namespace${p.size ? ` ${formatSize(p.size)}` : ''}${p.align ? ` align ${formatSize(p.align)}` : ''}${p.as ? ` as ${p.as}` : ''}`,
  defines: (p) => (p.action === 'create' && p.as ? [p.as] : []),
  uses: (p) => (p.action === 'destroy' && p.target !== 'all' ? [{ name: p.target, param: 'target' }] : []),
  undefines: (p) => (p.action === 'destroy' ? [p.target === 'all' ? '*' : p.target] : []),
  run: (ctx, p) =>
    runBody(ctx, async (r) => {
      // Namespaces live in the labels: the label baseline of the data-integrity steps starts again after this step.
      if (ctx.integrity) ctx.integrity.labels = undefined;
      if (p.action === 'destroy') {
        const dev = p.target === 'all' ? 'all' : ctx.namespaces.get(p.target)?.dev;
        r.check(dev !== undefined, `namespace '${p.target}' was not created`);
        await r.sh(command('ndctl', 'destroy-namespace', '-f', dev!));
        if (p.target === 'all') ctx.namespaces.clear();
        else ctx.namespaces.delete(p.target);
        return;
      }
      const args = ['ndctl', 'create-namespace', '-m', p.mode];
      if (p.region) args.push('-r', p.region);
      if (p.size !== undefined) args.push('-s', String(p.size));
      if (p.align !== undefined) args.push('-a', String(p.align));
      if (p.map) args.push('-M', p.map);
      const created = await r.json<NdNamespace>(command(...args));
      r.check(typeof created.dev === 'string', `ndctl create-namespace printed no namespace: ${JSON.stringify(created)}`);
      // Re-read with `ndctl list` so sizes are plain numbers whatever create printed.
      const listed = await r.json<NdNamespace | NdNamespace[]>(command('ndctl', 'list', '-N', '-n', created.dev));
      const ns = (Array.isArray(listed) ? listed[0] : listed) ?? created;
      const info = { dev: ns.dev, mode: ns.mode, size: Number(ns.size), uuid: ns.uuid, align: ns.align, blockdev: ns.blockdev, chardev: chardevOf(ns) };
      Object.assign(r.details, { namespace: info, requested: { size: p.size, align: p.align, map: p.map } });
      if (p.as) ctx.namespaces.set(p.as, info);
      r.check(ns.mode === p.mode, `asked for mode ${p.mode}, ndctl reports ${ns.mode}`);
      if (p.size !== undefined) r.check(info.size > 0 && info.size <= p.size, `asked for ${p.size} bytes, ndctl reports ${info.size}`);
      if (p.expect.size !== undefined) r.check(info.size === p.expect.size, `expected size ${p.expect.size}, ndctl reports ${info.size}`);
      if (p.align !== undefined && ns.align !== undefined) r.check(ns.align === p.align, `asked for align ${p.align}, ndctl reports ${ns.align}`);
      if (p.mode === 'devdax') r.check(info.chardev !== undefined, 'devdax namespace has no chardev');
      if (p.mode === 'fsdax' || p.mode === 'sector' || p.mode === 'raw') r.check(info.blockdev !== undefined, `${p.mode} namespace has no blockdev`);
    }),
};
