import { z } from 'zod';
import { command } from '../common/shell-quote.js';
import { Size } from '../model/values.js';
import { GuestPath } from './device.js';
import { runBody } from './recorder.js';
import type { StepKind } from './types.js';

/** STATX_ATTR_DAX from include/uapi/linux/stat.h. */
export const STATX_ATTR_DAX = 0x200000;

const Params = z
  .object({
    /** A file on a DAX-capable mount; it is written first (with `size` bytes) when `write` is true. */
    path: GuestPath,
    size: Size.default(2 * 1024 ** 2),
    write: z.boolean().default(true),
    /** false for the control case (`dax=never`): the attribute must then be clear. */
    expect: z.boolean().default(true),
  })
  .strict();
type Params = z.output<typeof Params>;

/** stat.attributes from `xfs_io -c 'statx -r'` output (pure). */
export function statxAttributes(output: string): number | undefined {
  const m = /^stat\.attributes = (0x[0-9a-f]+)$/m.exec(output);
  return m ? Number.parseInt(m[1]!, 16) : undefined;
}

/** Proves DAX by the file's statx DAX attribute, not by the mount having succeeded. */
export const daxActiveStep: StepKind<Params> = {
  kind: 'dax-active',
  summary: "prove DAX is active on a file by its statx STATX_ATTR_DAX attribute (or prove it is not, expect: false)",
  schema: Params as z.ZodType<Params, unknown>,
  shorthand: (path) => ({ path }),
  title: (p) => `${p.expect ? '' : 'no '}DAX on ${p.path} (statx)`,
  run: (ctx, p) =>
    runBody(ctx, async (r) => {
      if (p.write) {
        const mib = Math.max(1, Math.ceil(p.size / 1024 ** 2));
        await r.sh(command('dd', 'if=/dev/urandom', `of=${p.path}`, 'bs=1M', `count=${mib}`, 'conv=fsync', 'status=none'));
      }
      const out = await r.sh(command('xfs_io', '-r', '-c', 'statx -r', p.path));
      const attrs = statxAttributes(out.stdout);
      r.check(attrs !== undefined, `no stat.attributes in xfs_io statx output`);
      const dax = (attrs! & STATX_ATTR_DAX) !== 0;
      r.details.statxAttributes = `0x${attrs!.toString(16)}`;
      r.details.dax = dax;
      r.check(dax === p.expect, `statx attributes 0x${attrs!.toString(16)}: STATX_ATTR_DAX (0x200000) is ${dax ? 'set' : 'clear'}, expected ${p.expect ? 'set' : 'clear'}`);
    }),
};
