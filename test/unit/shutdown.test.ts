/**
 * shutdownMachine with a minimal fake machine: the guest is told to power off
 * (with and without coverage collection), and is not when it is already gone.
 */
import t from 'tap';
import { join } from 'node:path';
import { shutdownMachine } from '../../harness/runner/shutdown.js';
import type { Machine } from '../../harness/runner/machine.js';
import { Teardown } from '../../harness/runner/teardown.js';
import { tempDir } from '../helpers/cli.js';

function fakeMachine(): { m: Machine; commands: string[] } {
  const commands: string[] = [];
  const m = {
    vm: { running: true, console: { lineCount: 0, linesFrom: () => [] }, killNow: () => undefined },
    session: {
      closed: false,
      exec: async (cmd: string) => {
        commands.push(cmd);
        return { exitCode: 0, stdout: cmd.includes('dmesg') ? '0\n[    1.0] hello\n' : '', stderr: '' };
      },
    },
    inputs: { kernel: { name: 'k', release: '7.2.13' } },
    progress: { stop: 'exited' },
  } as unknown as Machine;
  return { m, commands };
}

const log = { info: () => undefined, warn: () => undefined, step: () => undefined } as never;

t.test('the guest is powered off after its dmesg is saved', async (t) => {
  const dir = await tempDir('shutdown-');
  const { m, commands } = fakeMachine();
  const points: { name: string; status: string }[] = [];
  await shutdownMachine(m, { dmesgFile: join(dir, 'dmesg.txt'), guestGone: false, emit: async (p) => void points.push(p), teardown: new Teardown(log), log });
  const off = commands.findIndex((c) => /echo o > \/proc\/sysrq-trigger/.test(c));
  t.ok(off >= 0, `poweroff sent (commands: ${commands.join(' | ')})`);
  t.ok(off > commands.findIndex((c) => c.includes('dmesg')), 'after dmesg was read');
  t.same(points.map((p) => [p.name, p.status]), [['shutdown', 'pass']]);
});

t.test('a guest already gone is not sent anything', async (t) => {
  const dir = await tempDir('shutdown-');
  const { m, commands } = fakeMachine();
  await shutdownMachine(m, { dmesgFile: join(dir, 'dmesg.txt'), guestGone: true, emit: async () => undefined, teardown: new Teardown(log), log });
  t.same(commands, []);
});
