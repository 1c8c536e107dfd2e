/**
 * Expected findings (`expect: { finding: TITLE }`, runner/expect.ts) judged on
 * the case event stream: the runner driven with a fake VM replaying recorded
 * consoles (as runner-faults.test.ts), the real loader, fold, store and TAP.
 * The judged status is what the result, TAP and the runner's next move see.
 */
import t from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExitCode } from '../../harness/common/exit-codes.js';
import { foldCase } from '../../harness/model/fold.js';
import type { CaseResult } from '../../harness/model/results.js';
import { parseTap, tempDir } from '../helpers/cli.js';
import { bootSmoke, healthy, panicsOnCrash, run } from '../helpers/fake-run.js';
import { recordedConsole } from '../helpers/fake-vm.js';

const statuses = (c: CaseResult) => c.points.map((p) => `${p.kind}:${p.status}`);
const dir = await tempDir('ramdax-expect-');
const scenario = async (name: string, yaml: string) => {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, `name: ${name}\nmemmap: 512M!4G\n${yaml}`);
  return file;
};

const WARN = "echo '<4>WARNING: CPU: 1 PID: 123 at drivers/nvdimm/ramdax.c:42 ramdax_probe+0x1/0x2 [ramdax]' > /dev/kmsg";
const warning = (await recordedConsole('kernel-warning')).filter((l) => /WARNING: CPU: 1 PID: 123/.test(l.text));
const warns = () =>
  healthy((cmd, w) => {
    if (!cmd.includes('> /dev/kmsg')) return bootSmoke(cmd, w);
    w.print(warning);
    w.dmesg.push(...warning.map((l) => l.text));
    return {};
  });

t.test('a step that expects the WARN it triggers passes; the stream carries the judged status', async (t) => {
  const file = await scenario('expect-step', `steps:\n  - name: trigger\n    run: >-\n      ${WARN}\n    expect: { finding: WARNING in ramdax_probe }\n  - run: echo alive\n`);
  const r = await run([file], warns);
  t.equal(r.exitCode, ExitCode.ok, 'exit 0: the bug is still there, as expected');
  const c = r.case('expect-step');
  t.same(statuses(c), ['boot:pass', 'step:pass', 'step:pass', 'shutdown:pass'], 'the run went on after the judged pass');
  t.match(c.points[1]!.reason, /^expected finding seen: WARNING in ramdax_probe/);
  t.equal(c.points[1]!.details?.expectedFinding, 'WARNING in ramdax_probe');
  t.equal(c.points[1]!.findings?.[0]?.crashTitle, 'WARNING in ramdax_probe', 'the finding stays on its point');
  const ended = r.events.get('expect-step')!.filter((e) => e.type === 'step-ended');
  t.equal(ended[0]?.type === 'step-ended' && ended[0].status, 'pass', 'step-ended is emitted judged');
  t.same(foldCase(r.events.get('expect-step')!), c, 'the result is still the fold of the stream');
  t.ok((await parseTap(r.tap)).ok, 'TAP says ok');
});

t.test('a step expecting a finding that does not come fails, and the rest is missed', async (t) => {
  const file = await scenario('expect-missing', `steps:\n  - run: echo alive\n    expect: { finding: WARNING in ramdax_probe }\n  - run: echo started\n`);
  const r = await run([file], () => healthy());
  t.equal(r.exitCode, ExitCode.testFailed);
  const c = r.case('expect-missing');
  t.same(statuses(c), ['boot:pass', 'step:fail', 'step:miss', 'shutdown:pass']);
  t.match(c.points[1]!.reason, /expected finding 'WARNING in ramdax_probe' did not occur during this step/);
});

t.test('an unexpected finding beside the expected one still fails', async (t) => {
  const file = await scenario('expect-other', `steps:\n  - name: trigger\n    run: >-\n      ${WARN}\n    expect: { finding: WARNING in something_else }\n`);
  const r = await run([file], warns);
  t.equal(r.exitCode, ExitCode.testFailed);
  t.match(r.case('expect-other').points[1]!.reason, /got 'WARNING in ramdax_probe'/);
});

t.test('a case expecting a panic: the panic step passes, what it ended is skipped, the expectation is the last point', async (t) => {
  const file = await scenario(
    'expect-panic',
    `expect: { finding: 'kernel panic: sysrq triggered crash' }\nsteps:\n  - run: echo alive\n  - name: crash the kernel\n    run: echo 1 > /proc/sys/kernel/sysrq; echo c > /proc/sysrq-trigger\n  - run: echo never runs\n`,
  );
  const r = await run([file], () => panicsOnCrash());
  t.equal(r.exitCode, ExitCode.ok, 'the expected panic is a pass');
  const c = r.case('expect-panic');
  t.equal(c.status, 'pass');
  t.same(statuses(c).slice(0, 4), ['boot:pass', 'step:pass', 'step:pass', 'step:skip']);
  t.match(c.points[3]!.reason, /not run: the case ended with the expected finding 'kernel panic: sysrq triggered crash'/);
  const last = c.points.at(-1)!;
  t.same([last.name, last.status], ['expected finding: kernel panic: sysrq triggered crash', 'pass']);
  t.equal(r.host.vms.filter((v) => v.running).length, 0, 'no VM left running');
});

t.test('a case expecting a finding the kernel no longer shows fails at its last point (exit 1)', async (t) => {
  const file = await scenario('expect-gone', `expect: { finding: WARNING in ramdax_probe }\nsteps:\n  - run: echo alive\n`);
  const r = await run([file], () => healthy());
  t.equal(r.exitCode, ExitCode.testFailed);
  const c = r.case('expect-gone');
  t.same(statuses(c), ['boot:pass', 'step:pass', 'shutdown:pass', 'step:fail']);
  t.match(c.points.at(-1)!.reason, /the kernel never reported 'WARNING in ramdax_probe'/);
  t.match(c.reason, /expected finding: WARNING in ramdax_probe/, 'the case says why');
  t.ok(c.files.repro, 'a failing case still gets its reproducer bundle');
  t.match(await readFile(join(r.run.dir, c.files.repro!, 'known_hosts'), 'utf8'), /^ramdax-guest ssh-ed25519 /, 'which pins the guest host key');
});
