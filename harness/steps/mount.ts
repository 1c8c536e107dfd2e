import { z } from 'zod';
import { command } from '../common/shell-quote.js';
import { blockDevice, DeviceRef, GuestPath } from './device.js';
import { runBody } from './recorder.js';
import type { StepKind } from './types.js';

const MountParams = z
  .object({
    device: DeviceRef,
    at: GuestPath,
    /** Mount options, e.g. `dax=always`, `dax=inode`, `dax=never`. */
    options: z.string().regex(/^[A-Za-z0-9=,._-]*$/, 'mount options are letters, digits and =,._-').default(''),
  })
  .strict();
type MountParams = z.output<typeof MountParams>;

/** The options column of /proc/self/mounts for a mount point (pure). */
export function mountOptions(procMounts: string, at: string): string | undefined {
  const line = procMounts
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[1] === at)
    .at(-1);
  return line?.[3];
}

export const mountStep: StepKind<MountParams> = {
  kind: 'mount',
  summary: 'mount a device (a namespace name or /dev path) with options such as dax=always, checked in /proc/mounts',
  schema: MountParams as z.ZodType<MountParams, unknown>,
  title: (p) => `mount ${p.device} at ${p.at}${p.options ? ` -o ${p.options}` : ''}`,
  uses: (p) => (p.device.startsWith('/') ? [] : [{ name: p.device, param: 'device' }]),
  run: (ctx, p) =>
    runBody(ctx, async (r) => {
      const dev = blockDevice(ctx, p.device);
      await r.sh(command('mkdir', '-p', p.at));
      await r.sh(p.options ? command('mount', '-o', p.options, dev, p.at) : command('mount', dev, p.at));
      const opts = mountOptions((await r.sh('cat /proc/self/mounts')).stdout, p.at);
      r.details.mountOptions = opts;
      r.check(opts !== undefined, `${p.at} is not in /proc/self/mounts after mount`);
      // `dax`/`dax=always` must show in the mount table (dax=inode is the default and may not).
      const dax = /(^|,)dax(=(\w+))?(,|$)/.exec(p.options);
      if (dax && (dax[3] ?? 'always') === 'always') {
        r.check(/(^|,)dax(=always)?(,|$)/.test(opts!), `mounted with -o ${p.options} but /proc/mounts shows '${opts}'`);
      }
      if (dax && dax[3] === 'never') r.check(!/(^|,)dax(=always)?(,|$)/.test(opts!), `mounted with -o dax=never but /proc/mounts shows '${opts}'`);
    }),
};

const UmountParams = z.object({ at: GuestPath }).strict();
type UmountParams = z.output<typeof UmountParams>;

export const umountStep: StepKind<UmountParams> = {
  kind: 'umount',
  summary: 'unmount a mount point',
  schema: UmountParams as z.ZodType<UmountParams, unknown>,
  shorthand: (at) => ({ at }),
  title: (p) => `umount ${p.at}`,
  run: (ctx, p) =>
    runBody(ctx, async (r) => {
      await r.sh(command('umount', p.at));
    }),
};
