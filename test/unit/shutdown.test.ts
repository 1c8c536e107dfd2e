/**
 * shutdownMachine with a minimal fake machine: the guest is told to power off
 * (with and without coverage collection), and is not when it is already gone.
 */
import t from 'tap';
import type { CaseEventBody } from '../../harness/model/events.js';
import { shutdownMachine } from '../../harness/runner/shutdown.js';
import type { Machine, MachineEnv } from '../../harness/runner/machine.js';
import { Teardown } from '../../harness/runner/teardown.js';
import { tempDir } from '../helpers/cli.js';

function fakeMachine(): { m: Machine; commands: string[] } {
  const commands: string[] = [];
  const m = {
    vm: { running: true, console: { lineCount: 0, linesFrom: () => [] }, killNow: () => undefined },
    session: {
      closed: undefined,
      exec: async (cmd: string) => {
        commands.push(cmd);
        return { command: cmd, exitCode: 0, stdout: cmd.includes('dmesg') ? '0\n[    1.0] hello\n' : '', stderr: '', durationMs: 1, timedOut: false };
      },
    },
    inputs: { kernel: { name: 'k', release: '7.2.13', sha256: {} } },
    stop: 'exited',
  } as unknown as Machine;
  return { m, commands };
}

const log = { info: () => undefined, warn: () => undefined, step: () => undefined } as never;
const env = { fx: { clock: { now: () => 0 } } } as unknown as MachineEnv;

t.test('the guest is powered off after its kernel log is kept', async (t) => {
  const { m, commands } = fakeMachine();
  const events: CaseEventBody[] = [];
  await shutdownMachine(m, { guestGone: false, emit: async (e) => void events.push(e), teardown: new Teardown(log), env });
  const off = commands.findIndex((c) => /echo o > \/proc\/sysrq-trigger/.test(c));
  t.ok(off >= 0, `poweroff sent (commands: ${commands.join(' | ')})`);
  t.ok(off > commands.findIndex((c) => c.includes('dmesg')), 'after dmesg was read');
  t.same(events.map((e) => [e.type, 'status' in e ? e.status : undefined]), [['kernel-log', undefined], ['shutdown', 'pass']]);
});

t.test('with coverage: the counters are collected, then the guest is powered off', async (t) => {
  const dir = await tempDir('shutdown-');
  const { m, commands } = fakeMachine();
  const events: CaseEventBody[] = [];
  await shutdownMachine(m, { guestGone: false, emit: async (e) => void events.push(e), teardown: new Teardown(log), env, coverageDir: dir });
  const collect = commands.findIndex((c) => c.includes('/sys/kernel/debug/gcov'));
  const off = commands.findIndex((c) => /echo o > \/proc\/sysrq-trigger/.test(c));
  t.ok(collect >= 0 && off > collect, `collected, then powered off (commands: ${commands.length})`);
  t.same(events.map((e) => e.type), ['kernel-log', 'coverage', 'shutdown']);
});

t.test('a guest already gone is not sent anything (its counters are marked lost)', async (t) => {
  const dir = await tempDir('shutdown-');
  const { m, commands } = fakeMachine();
  const events: CaseEventBody[] = [];
  await shutdownMachine(m, { guestGone: true, emit: async (e) => void events.push(e), teardown: new Teardown(log), env, coverageDir: dir });
  t.same(commands, []);
  t.match(events[0], { type: 'coverage', lost: /the guest was gone/ });
});
