/**
 * The runner driven end to end with fakes for its effects only (VM, guest
 * transport, clock): the real scenario loader, steps, boot watcher, event
 * fold, result store and TAP. Each fault of docs/robustness.md is staged on a
 * recorded console (test/fixtures/consoles/), plus a WARN under exit 0, a
 * hang at boot and an `Oops: int3` at boot. Virtual time: a 300 s deadline
 * passes in a millisecond. The real-QEMU versions of these faults are in
 * test/integration/faults.test.ts and failures.test.ts.
 */
import t from 'tap';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCases } from '../../harness/cli/load-cases.js';
import { ExitCode } from '../../harness/common/exit-codes.js';
import { foldCase } from '../../harness/model/fold.js';
import type { CaseResult, RunResult } from '../../harness/model/results.js';
import type { Reporter } from '../../harness/reporters/reporter.js';
import { runCases } from '../../harness/runner/run.js';
import { keyPaths } from '../../harness/setup/keys.js';
import { parseTap, tempDir } from '../helpers/cli.js';
import { bootSmoke, cache, clean, fixture, healthy, panicsOnCrash, run, type FakeRun } from '../helpers/fake-run.js';
import { fakeHost, recordedConsole } from '../helpers/fake-vm.js';

const statuses = (c: CaseResult) => c.points.map((p) => `${p.kind}:${p.status}`);
const vmsLeft = (r: FakeRun) => r.host.vms.filter((v) => v.running).length;

t.test('a clean case: pass, every point, the result is the fold of the stream', async (t) => {
  const r = await run(['scenarios/boot-smoke.yaml'], () => healthy());
  t.equal(r.exitCode, ExitCode.ok);
  const c = r.case('boot-smoke');
  t.equal(c.status, 'pass');
  t.same(statuses(c), ['boot:pass', 'step:pass', 'step:pass', 'step:pass', 'shutdown:pass']);
  t.ok(c.boot.kernelStartedMs! < c.boot.initStartedMs! && c.boot.initStartedMs! < c.boot.sshdStartedMs! && c.boot.sshdStartedMs! <= c.boot.firstCommandMs!, 'milestones in order');
  t.equal(c.points[0]!.metrics?.length, 5, 'five boot metrics');
  t.same(c.points[1]!.commands?.map((x) => x.command), ['uname -r'], 'a step point holds its commands');
  const events = r.events.get('boot-smoke')!;
  t.same(
    [...new Set(events.map((e) => e.type))],
    ['case-started', 'boot-prepared', 'boot-started', 'milestone', 'boot-ended', 'step-started', 'command', 'step-ended', 'kernel-log', 'shutdown', 'case-ended'],
    'the stream, in order of first appearance',
  );
  t.same(events.filter((e) => e.type === 'milestone').map((e) => e.type === 'milestone' && e.name), ['kernelStartedMs', 'initStartedMs', 'sshdStartedMs', 'sshReadyMs', 'firstCommandMs']);
  t.same(foldCase(events), c, 'results.json holds exactly the fold of the events');
  const onDisk = JSON.parse(await readFile(join(r.run.dir, 'results.json'), 'utf8')) as RunResult;
  t.same(onDisk.cases[0], JSON.parse(JSON.stringify(c)), 'and so does the file');
  const lines = (await readFile(join(r.run.dir, 'events.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  t.equal(lines.length, events.length, 'events.jsonl: one line per event');
  t.match(await readFile(join(r.run.dir, 'boot-smoke', 'commands.log'), 'utf8'), /\$ uname -r\n# exit=0/, 'commands.log written from the stream');
  t.match(await readFile(join(r.run.dir, 'boot-smoke', 'dmesg.txt'), 'utf8'), /Linux version/, 'dmesg.txt written from the stream');
  const tap = await parseTap(r.tap);
  t.ok(tap.ok && tap.tapErrors.length === 0 && tap.extra.length === 0, 'strict TAP');
  t.equal(vmsLeft(r), 0, 'no VM left running');
});

t.test('guest frozen: the step deadline fails it, the guest is found hung, QEMU stopped', async (t) => {
  let frozen = false;
  const r = await run([fixture('fault-hang')], () => ({
    ...healthy(),
    ignoresPowerOff: true,
    commands: (cmd) => {
      if (cmd.startsWith('kill -STOP -1')) frozen = true;
      return frozen ? 'hang' : undefined;
    },
  }));
  t.equal(r.exitCode, ExitCode.testFailed);
  const c = r.case('fault-hang');
  t.same(statuses(c).slice(0, 3), ['boot:pass', 'step:fail', 'step:miss']);
  t.match(c.points[1]!.reason, /timed out after 10s[\s\S]*no longer answers SSH/);
  t.equal(r.host.vms[0]!.killed, 'qmp-quit', 'QEMU stopped by escalation');
  t.equal(vmsLeft(r), 0, 'no VM left running');
});

t.test('QEMU killed mid-step: error, rest missed, exit 3', async (t) => {
  const r = await run([fixture('fault-long')], () =>
    healthy((cmd, w) => {
      if (cmd === 'sleep 300') {
        setImmediate(() => w.vm.killNow());
        return 'never';
      }
      return bootSmoke(cmd, w);
    }),
  );
  t.equal(r.exitCode, ExitCode.infra);
  const c = r.case('fault-long');
  t.same(statuses(c).slice(0, 4), ['boot:pass', 'step:pass', 'step:error', 'step:miss']);
  t.match(c.points[2]!.reason, /QEMU exited \(SIGKILL\)/);
  t.equal(vmsLeft(r), 0, 'no VM left running');
});

t.test('SSH dropped under a command: error, rest missed', async (t) => {
  const r = await run([fixture('fault-ssh-drop')], () => healthy((cmd) => (cmd.startsWith('pkill -KILL -f sshd') ? 'drop' : undefined)));
  t.equal(r.exitCode, ExitCode.infra);
  const c = r.case('fault-ssh-drop');
  t.same(statuses(c).slice(0, 3), ['boot:pass', 'step:error', 'step:miss']);
  t.match(c.points[1]!.reason, /SSH connection (closed|error)/);
  t.equal(vmsLeft(r), 0, 'no VM left running');
});

t.test('host port taken: QEMU retried on a free port, the case passes', async (t) => {
  const r = await run(['scenarios/boot-smoke.yaml'], () => healthy(), { firstSshPort: 2222, taken: [2222] });
  t.equal(r.exitCode, ExitCode.ok);
  t.ok(r.logs.some((l) => /SSH port 2222 was taken, retrying/.test(l)), 'the retry is logged');
  t.not(r.case('boot-smoke').sshPort, 2222, 'another port was used');
  t.equal(r.host.vms.length, 2, 'two QEMUs: the one that lost the port, the one that booted');
  t.notOk(r.case('boot-smoke').points[0]!.details?.flakyBoot, 'a taken port is no flaky boot');
  t.equal(vmsLeft(r), 0, 'no VM left running');
});

t.test('results folder cannot be created: exit 3, nothing started', async (t) => {
  const file = join(await tempDir('ramdax-fake-'), 'a-file');
  await writeFile(file, '');
  const host = fakeHost(() => healthy());
  const cases = await loadCases(['scenarios/boot-smoke.yaml'], []);
  let tap = '';
  await t.rejects(
    runCases({ cases, resultsRoot: join(file, 'results'), cacheDir: cache, keys: keyPaths(cache), jobs: 1, qemuBinary: 'q', log: { info() {}, warn() {}, step() {} }, stdout: (x) => (tap += x), version: 't', effects: host.effects }),
    { message: /cannot create a run folder in .*: nothing was started/ },
  );
  t.equal(tap, '', 'no TAP: nothing ran');
  t.equal(host.vms.length, 0, 'no VM was started');
});

t.test('results disk full mid-run: TAP still streams, exit 3', async (t) => {
  // Once the run folder exists, its files cannot be written any more (as on a full disk).
  const breakDisk: Reporter = {
    async onRunBegin(runResult) {
      await mkdir(join(runResult.dir, 'events.jsonl', 'x'), { recursive: true });
      await rm(join(runResult.dir, 'results.json'));
      await mkdir(join(runResult.dir, 'results.json', 'x'), { recursive: true });
    },
  };
  const r = await run(['scenarios/boot-smoke.yaml'], () => healthy(), { reporters: [breakDisk] });
  t.equal(r.exitCode, ExitCode.infra, 'exit 3: results incomplete on disk');
  t.ok(r.logs.some((l) => /results are incomplete on disk/.test(l)));
  const tap = await parseTap(r.tap);
  t.equal(tap.points.length, 1, 'the case was still reported');
  t.ok(tap.ok, 'and it passed');
  t.equal(vmsLeft(r), 0, 'no VM left running');
});

t.test('SIGINT mid-step: unfinished points marked, the next case missed, exit 130', async (t) => {
  const interrupt = new AbortController();
  const r = await run(
    [fixture('fault-long'), 'scenarios/boot-smoke.yaml'],
    () =>
      healthy((cmd, w) => {
        if (cmd === 'sleep 300') {
          setImmediate(() => interrupt.abort(new Error('interrupted by SIGINT')));
          return 'never';
        }
        return bootSmoke(cmd, w);
      }),
    { interrupt: interrupt.signal },
  );
  t.equal(r.exitCode, ExitCode.interrupted);
  t.equal(r.run.status, 'interrupted');
  const long = r.case('fault-long');
  t.equal(long.points[1]!.status, 'pass', 'finished point kept');
  t.match(long.points[2]!.reason, /interrupted by SIGINT/);
  t.equal(long.points[3]!.status, 'miss');
  const smoke = r.case('boot-smoke');
  t.same(statuses(smoke), ['boot:miss', 'step:miss', 'step:miss', 'step:miss'], 'the case that never started is marked missed');
  t.equal(r.host.vms.length, 1, 'no VM started after the interrupt');
  t.equal(vmsLeft(r), 0, 'no VM left running');
});

t.test('kernel panic mid-step: the step fails with the panic, QEMU ends, the rest is missed', async (t) => {
  const r = await run([fixture('guest-panic')], () => panicsOnCrash());
  t.equal(r.exitCode, ExitCode.testFailed, 'the kernel failed, not the harness');
  const c = r.case('guest-panic');
  t.same(statuses(c).slice(0, 4), ['boot:pass', 'step:pass', 'step:fail', 'step:miss']);
  t.match(c.points[2]!.reason, /kernel reported panic: Kernel panic - not syncing: sysrq triggered crash/);
  t.equal(c.points[2]!.findings?.[0]?.type, 'panic');
  t.equal(vmsLeft(r), 0, 'no VM left running');
});

t.test('WARN under exit 0: the command succeeds, the step fails with the warning', async (t) => {
  const warning = (await recordedConsole('kernel-warning')).filter((l) => /WARNING: CPU: 1 PID: 123/.test(l.text));
  const r = await run([fixture('kernel-warning')], () =>
    healthy((cmd, w) => {
      if (!cmd.includes('> /dev/kmsg')) return undefined;
      w.print(warning);
      w.dmesg.push(...warning.map((l) => l.text));
      return {};
    }),
  );
  t.equal(r.exitCode, ExitCode.testFailed);
  const c = r.case('kernel-warning');
  t.same(statuses(c), ['boot:pass', 'step:fail', 'shutdown:pass']);
  t.match(c.points[1]!.reason, /kernel reported warning: WARNING: .*ramdax\.c:42.*\(the command itself succeeded\)/);
  t.match(c.points[1]!.dmesg?.join('\n'), /ramdax\.c:42/, 'the new kernel log lines are on the point');
  t.match(r.tap, /not ok 2 - command succeeds but the kernel log gets a WARNING[\s\S]*findings:/, 'TAP shows the finding');
  t.equal(vmsLeft(r), 0, 'no VM left running');
});

t.test('hang at boot: the console falls silent, every attempt fails, the boot fails', async (t) => {
  const quiet = clean.boot.filter((l) => l.t < 2000);
  const r = await run(['scenarios/boot-smoke.yaml'], () => ({ console: quiet }));
  t.equal(r.exitCode, ExitCode.testFailed);
  const c = r.case('boot-smoke');
  t.same(statuses(c), ['boot:fail', 'step:miss', 'step:miss', 'step:miss']);
  t.match(c.points[0]!.reason, /console silent for 90\.0s \(stage reached: kernel started\) \(the same failure on attempts 1 and 2: a failure that repeats is the kernel's/, 'a repeated failure is the kernel\'s (boot-policy.ts)');
  const ended = r.events.get('boot-smoke')!.find((e) => e.type === 'boot-ended');
  t.equal(ended?.type === 'boot-ended' && ended.failedAttempts.length, 1, 'boot-ended carries the failed attempt');
  t.equal(r.host.vms.length, 2, 'retries.boot: 1 — two attempts');
  t.equal(vmsLeft(r), 0, 'no VM left running');
});

t.test('int3 at boot: the first boot dies, the retry works: pass, reported as a flaky boot', async (t) => {
  // The real early-boot capture of bench/int3-boots.ts; panic=-1 ends QEMU a moment after the panic.
  const int3 = await recordedConsole('tcg-mttcg-int3-early-boot');
  const r = await run(['scenarios/boot-smoke.yaml'], (_spec, attempt) => (attempt === 1 ? { console: int3, exitAt: int3.at(-1)!.t + 50 } : healthy()));
  t.equal(r.exitCode, ExitCode.ok);
  const c = r.case('boot-smoke');
  t.equal(c.status, 'pass');
  const flaky = c.points[0]!.details?.flakyBoot as { attempt: number; status: string; kind: string; reason: string; findings: string[] }[];
  t.equal(flaky?.length, 1, 'the failed attempt is kept');
  t.match(flaky[0]!.reason, /^emulator flake, not the kernel: [\s\S]*(kernel panic during boot|QEMU exited)/);
  t.same([flaky[0]!.kind, flaky[0]!.status], ['emulator-flake', 'error'], 'an early int3 under multi-threaded TCG is the emulator\'s (boot-policy.ts)');
  t.match(flaky[0]!.findings[0], /Oops: int3/);
  t.match(r.tap, /# flaky boot: attempt 1 failed: /, 'and said in TAP');
  t.equal(vmsLeft(r), 0, 'no VM left running');
});

t.test('int3 mid-step (the golden run met it): the step fails with the oops, QEMU ends, the rest is missed', async (t) => {
  // 329 s into the default run of 2026-11-30, in rcu_preempt (test/fixtures/consoles/real-int3-tcg.log).
  const real = await recordedConsole('real-int3-tcg');
  const oops = real.slice(real.findIndex((l) => /Oops: int3/.test(l.text)));
  const r = await run([fixture('fault-long')], () =>
    healthy((cmd, w) => {
      if (cmd !== 'sleep 300') return bootSmoke(cmd, w);
      w.print(oops);
      setImmediate(() => w.vm.end({ exitCode: 0, signal: undefined, stderr: '' }));
      return 'never';
    }),
  );
  t.equal(r.exitCode, ExitCode.testFailed, 'a kernel oops mid-step is the kernel\'s to explain: fail');
  const c = r.case('fault-long');
  t.same(statuses(c).slice(0, 4), ['boot:pass', 'step:pass', 'step:fail', 'step:miss']);
  t.match(c.points[2]!.reason, /kernel reported oops: Oops: int3/);
  t.same(c.points[2]!.findings?.map((f) => f.type), ['oops', 'panic']);
  t.equal(vmsLeft(r), 0, 'no VM left running');
});

t.test('console-only kernel: the same stream from the console path, steps skipped', async (t) => {
  const probe = await recordedConsole('debian-6.19-probe');
  const r = await run(['scenarios/boot-smoke.yaml'], () => ({ console: probe, exitAt: probe.at(-1)!.t + 100 }), { kernels: ['debian-6.19'] });
  t.equal(r.exitCode, ExitCode.ok);
  const c = r.case('boot-smoke[kernel=debian-6.19]') ?? r.run.cases[0]!;
  t.equal(c.status, 'skip');
  t.same(statuses(c), ['boot:pass', 'step:skip', 'step:skip', 'step:skip', 'shutdown:pass']);
  t.equal(c.stop, 'exited');
  const events = r.events.get(c.id)!;
  t.same(events.filter((e) => e.type === 'milestone').map((e) => e.type === 'milestone' && e.name), ['kernelStartedMs', 'initStartedMs'], 'milestones from the same watcher');
  t.same(foldCase(events), c);
  t.equal(vmsLeft(r), 0, 'no VM left running');
});

t.test('shared boot: later cases run in the first one\'s boot until one leaves the device changed', async (t) => {
  const dir = await tempDir('ramdax-fake-scenario-');
  const file = join(dir, 'shared.yaml');
  await writeFile(file, 'name: shared\nmatrix:\n  end:\n    first: tidy\n    second: messy\n    third: tidy\nshareBoot: true\nmemmap: 512M!4G\nsteps:\n  - run: echo "$end"\n');
  const r = await run([file], () =>
    healthy((cmd, w) => {
      const m = /export end=(\S+)\necho "\$end"/.exec(cmd);
      if (!m) return undefined;
      // The messy case leaves a namespace: the device state differs from then on.
      if (m[1] === 'messy') w.vm.script.commands = (c2) => (c2.startsWith('ndctl list -N') ? { stdout: '[{"dev":"namespace0.0"}]\n--- mounts\n' } : c2.startsWith('export end=') ? { stdout: 'x\n' } : undefined);
      return { stdout: `${m[1]}\n` };
    }),
  );
  t.equal(r.exitCode, ExitCode.testFailed, 'the messy hand-over fails');
  const [first, second, third] = r.run.cases;
  t.same(statuses(first!), ['boot:pass', 'step:pass', 'handover:pass']);
  t.same(statuses(second!), ['boot:pass', 'step:pass', 'handover:fail', 'shutdown:pass']);
  t.equal(second!.points[0]!.name, `boot (shared with ${first!.id})`);
  t.equal(second!.bootId, first!.id);
  t.same(statuses(third!), ['boot:pass', 'step:pass', 'shutdown:pass'], 'a fresh boot for the third');
  t.equal(r.host.vms.length, 2, 'two boots for three cases');
  t.equal(vmsLeft(r), 0, 'no VM left running');
});

t.test('known bad on this kernel (expect.kernels): the failure passes as known, the rest is skipped, the verdict is the last point', async (t) => {
  const dir = await tempDir('ramdax-fake-scenario-');
  const file = join(dir, 'known-bad.yaml');
  const scenario = (verdict: string) =>
    `name: kb-${verdict}\nmemmap: 512M!4G\nexpect:\n  kernels:\n    - kernel: debian-7.2\n      knownBad: '^the bug shows: exit 1'\n      bug: a seeded bug\nsteps:\n  - name: the bug shows\n    run: "${verdict}"\n  - run: echo never runs\n`;
  const answers = healthy((cmd, w) => (cmd === 'false' ? { exitCode: 1 } : cmd === 'true' ? {} : bootSmoke(cmd, w)));

  await writeFile(file, scenario('false'));
  const broken = await run([file], () => answers);
  t.equal(broken.exitCode, ExitCode.ok, 'still broken as known: exit 0');
  const b = broken.case('kb-false');
  t.same(statuses(b), ['boot:pass', 'step:pass', 'step:skip', 'shutdown:pass', 'step:pass']);
  t.match(b.points[1]!.reason, /^known bad on debian-7\.2 \(a seeded bug\): the point failed as known/);
  t.match(b.points[2]!.reason, /not run: the case failed as known bad on debian-7\.2/);
  t.equal(b.points.at(-1)!.name, 'known bad on debian-7.2 (a seeded bug)');
  t.match(b.points.at(-1)!.reason, /^still broken/);
  t.same(foldCase(broken.events.get('kb-false')!), b, 'the judged statuses are in the stream, not patched onto the result');

  await writeFile(file, scenario('true'));
  const fixed = await run([file], () => answers);
  t.equal(fixed.exitCode, ExitCode.testFailed, 'passing on a kernel declared known bad: exit 1');
  const f = fixed.case('kb-true');
  t.same(statuses(f), ['boot:pass', 'step:pass', 'step:pass', 'shutdown:pass', 'step:fail']);
  t.match(f.points.at(-1)!.reason, /the case passed on debian-7\.2, which .* says is known bad .*fixed\?/);
  t.equal(vmsLeft(fixed), 0, 'no VM left running');
});
