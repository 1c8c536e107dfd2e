import { z } from 'zod';
import { command } from '../common/shell-quote.js';
import { formatSize } from '../common/units.js';
import { Size } from '../scenario/types.js';
import { charDevice, DeviceRef } from './device.js';
import { runBody } from './recorder.js';
import type { StepKind } from './types.js';

const Params = z
  .object({
    /** A devdax namespace name (or a /dev/daxX.Y path). */
    namespace: DeviceRef,
    length: Size.default(4 * 1024 ** 2),
    offset: Size.default(0),
  })
  .strict();
type Params = z.output<typeof Params>;

/** Write a random pattern through the devdax character device with daxio, read it back, compare. */
export const devdaxIoStep: StepKind<Params> = {
  kind: 'devdax-io',
  summary: 'write a random pattern through a devdax char device (daxio), read it back and compare',
  schema: Params as z.ZodType<Params, unknown>,
  title: (p) => `devdax round trip ${formatSize(p.length)}${p.offset ? ` at ${formatSize(p.offset)}` : ''} on ${p.namespace}`,
  uses: (p) => (p.namespace.startsWith('/') ? [] : [{ name: p.namespace, param: 'namespace' }]),
  run: (ctx, p) =>
    runBody(ctx, async (r) => {
      const dev = charDevice(ctx, p.namespace);
      const pattern = '/tmp/harness-devdax.pattern';
      const back = '/tmp/harness-devdax.readback';
      await r.sh(command('head', '-c', String(p.length), '/dev/urandom') + ` > ${pattern}`);
      await r.sh(command('daxio', '-i', pattern, '-o', dev, '-s', String(p.offset), '-l', String(p.length)));
      await r.sh(command('rm', '-f', back));
      await r.sh(command('daxio', '-i', dev, '-o', back, '-k', String(p.offset), '-l', String(p.length)));
      const cmp = await r.sh(command('cmp', pattern, back), { allowFail: true });
      r.details.device = dev;
      r.check(cmp.exitCode === 0, `data read back from ${dev} differs from what was written: ${cmp.stdout.trim() || cmp.stderr.trim()}`);
      await r.sh(command('rm', '-f', pattern, back));
    }),
};
