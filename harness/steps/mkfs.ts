import { z } from 'zod';
import { command } from '../common/shell-quote.js';
import { blockDevice, DeviceRef } from './device.js';
import { runBody } from './recorder.js';
import type { StepKind } from './types.js';

const Params = z
  .object({
    fs: z.enum(['ext4', 'xfs']),
    device: DeviceRef,
    /** Extra mkfs arguments, passed as separate words. */
    args: z.array(z.string().max(200)).max(32).default([]),
    fsck: z.boolean().default(true),
  })
  .strict();
type Params = z.output<typeof Params>;

/** DAX needs the page size as block size (ext4 picks 1 KiB on small devices), no reflink on xfs, and 2 MiB stripe units on xfs for PMD-aligned extents (xfsprogs 6.13 then wants a 64 MiB log, which only fits small devices with 2 allocation groups). */
export const MKFS: Record<Params['fs'], string[]> = {
  ext4: ['mkfs.ext4', '-F', '-q', '-b', '4096'],
  xfs: ['mkfs.xfs', '-f', '-q', '-m', 'reflink=0', '-d', 'su=2m,sw=1,agcount=2', '-l', 'size=64m'],
};
const FSCK: Record<Params['fs'], string[]> = { ext4: ['fsck.ext4', '-f', '-n'], xfs: ['xfs_repair', '-n'] };

/** mkfs.xfs refuses file systems under 300 MB. */
export const XFS_MIN_BYTES = 300_000_000;

export const mkfsStep: StepKind<Params> = {
  kind: 'mkfs',
  summary: 'make an ext4 (-b 4096) or xfs (-m reflink=0) file system, then fsck it',
  schema: Params as z.ZodType<Params, unknown>,
  title: (p) => `mkfs.${p.fs} ${p.device}`,
  uses: (p) => (p.device.startsWith('/') ? [] : [{ name: p.device, param: 'device' }]),
  crossCheck: (p, defined) => {
    const size = (defined.get(p.device) as { size?: number } | undefined)?.size;
    if (p.fs === 'xfs' && size !== undefined && size < XFS_MIN_BYTES) {
      return { param: 'fs', message: `mkfs.xfs refuses file systems under 300 MB; namespace '${p.device}' is ${size} bytes` };
    }
    return undefined;
  },
  run: (ctx, p) =>
    runBody(ctx, async (r) => {
      const dev = blockDevice(ctx, p.device);
      await r.sh(command(...MKFS[p.fs], ...p.args, dev));
      if (p.fsck) await r.sh(command(...FSCK[p.fs], dev));
      r.details.device = dev;
    }),
};
