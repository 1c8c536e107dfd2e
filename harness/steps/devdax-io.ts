import { z } from 'zod';
import { command } from '../common/shell-quote.js';
import { formatSize } from '../common/units.js';
import { Size } from '../model/values.js';
import { charDevice, DeviceRef } from './device.js';
import { runBody, type StepRecorder } from './recorder.js';
import type { StepKind } from './types.js';

const Params = z
  .object({
    /** A devdax namespace name (or a /dev/daxX.Y path). */
    namespace: DeviceRef,
    length: Size.default(4 * 1024 ** 2),
    offset: Size.default(0),
    /**
     * daxio: random pattern written, read back, compared with cmp.
     * fio: fio's dev-dax engine writes with verify=crc32c and reads every block back (block size `bs`).
     */
    tool: z.enum(['daxio', 'fio']).default('daxio'),
    bs: Size.default(2 * 1024 ** 2),
  })
  .strict();
type Params = z.output<typeof Params>;

/** Write a random pattern through the devdax character device with daxio, read it back, compare. */
export const devdaxIoStep: StepKind<Params> = {
  kind: 'devdax-io',
  summary: 'write a random pattern through a devdax char device (daxio), read it back and compare',
  schema: Params as z.ZodType<Params, unknown>,
  title: (p) =>
    `devdax ${p.tool === 'fio' ? `fio dev-dax verify=crc32c bs=${formatSize(p.bs)}` : 'round trip'} ${formatSize(p.length)}${p.offset ? ` at ${formatSize(p.offset)}` : ''} on ${p.namespace}`,
  uses: (p) => (p.namespace.startsWith('/') ? [] : [{ name: p.namespace, param: 'namespace' }]),
  run: (ctx, p) =>
    runBody(ctx, async (r) => {
      const dev = charDevice(ctx, p.namespace);
      r.details.device = dev;
      if (p.tool === 'fio') return fioVerify(r, dev, p);
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

/** fio's dev-dax engine: write with crc32c checksums, then verify every block; any mismatch fails. */
async function fioVerify(r: StepRecorder, dev: string, p: Params): Promise<void> {
  const args = ['fio', '--name=devdax-verify', '--ioengine=dev-dax', `--filename=${dev}`, '--rw=write', `--bs=${p.bs}`, `--size=${p.length}`, `--offset=${p.offset}`,
    '--verify=crc32c', '--do_verify=1', '--verify_fatal=1', '--output-format=json'];
  const out = await r.sh(command(...args), { allowFail: true });
  let job: { error?: number; write?: { io_bytes?: number } } | undefined;
  try {
    job = (JSON.parse(out.stdout.slice(out.stdout.indexOf('{'))) as { jobs?: (typeof job)[] }).jobs?.[0];
  } catch {
    job = undefined;
  }
  r.details.fio = { exit: out.exitCode, error: job?.error, written: job?.write?.io_bytes };
  r.check(out.exitCode === 0 && job?.error === 0, `fio dev-dax verify on ${dev} failed (exit ${out.exitCode}, fio error ${job?.error ?? 'unknown'}): ${(out.stderr.trim() || out.stdout.split('\n').filter((l) => l.startsWith('fio:')).join('\n')).split('\n').slice(-3).join(' | ')}`);
  r.check(job?.write?.io_bytes === p.length, `fio wrote ${job?.write?.io_bytes} bytes, expected ${p.length}`);
}
