/**
 * The runner's end-of-case hooks on the event stream, driven with the fake VM
 * (as runner-faults.test.ts): lifecycle's kmemleak scan (a `leakcheck`
 * point; a leak fails the case and keeps the next case off a shared boot)
 * and coverage's gcov collection before power-off and hand-over, or the
 * counters marked lost when the guest is gone (`coverage` events and the
 * segments in <case>/coverage/).
 */
import t from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ExitCode } from '../../harness/common/exit-codes.js';
import { foldCase } from '../../harness/model/fold.js';
import type { CaseResult } from '../../harness/model/results.js';
import { KMEMLEAK_SCAN } from '../../harness/runner/kmemleak.js';
import { safeName } from '../../harness/results/store.js';
import { titleFor } from '../../harness/triage/findings.js';
import { tempDir } from '../helpers/cli.js';
import { bootSmoke, fixture, healthy, panicsOnCrash, run } from '../helpers/fake-run.js';
import type { CommandHandler } from '../helpers/fake-vm.js';

const statuses = (c: CaseResult) => c.points.map((p) => `${p.kind}:${p.status}`);
const dir = await tempDir('ramdax-hooks-');

const LEAK = `unreferenced object 0xffff888006f3c400 (size 128):
  comm "sh", pid 214, jiffies 4294902811
  hex dump (first 32 bytes):
    6e 64 62 75 73 31 00 00 00 00 00 00 00 00 00 00  ndbus1..........
  backtrace (crc 5d1c2a3b):
    kmemleak_alloc+0x4a/0x80
    __kmalloc_noprof+0x2f1/0x4c0
    nvdimm_bus_register+0x6a/0x2e0
    ramdax_probe+0x1b3/0x3a0
    platform_probe+0x41/0xa0
`;

/** A debug kernel's guest: kmemleak is there; each scan answers with the next report. */
const withKmemleak = (reports: string[], inner: CommandHandler = bootSmoke): CommandHandler => {
  let n = 0;
  return (cmd, w) => {
    if (cmd === 'test -w /sys/kernel/debug/kmemleak') return {};
    if (cmd === KMEMLEAK_SCAN) return { stdout: reports[n++] ?? '' };
    return inner(cmd, w);
  };
};

t.test('kmemleak: a clean scan is a passing leakcheck point before the shutdown', async (t) => {
  const r = await run(['scenarios/boot-smoke.yaml'], () => healthy(withKmemleak([''])));
  t.equal(r.exitCode, ExitCode.ok);
  const c = r.case('boot-smoke');
  t.same(statuses(c), ['boot:pass', 'step:pass', 'step:pass', 'step:pass', 'leakcheck:pass', 'shutdown:pass']);
  t.equal(c.points[4]!.name, 'kmemleak scan');
  t.same(c.points[4]!.details, { unreferencedObjects: 0 });
  t.same(foldCase(r.events.get('boot-smoke')!), c, 'the result is the fold of the stream');
});

t.test('kmemleak: a leak fails the case with the leak as a finding; a kernel without kmemleak gets no point', async (t) => {
  const r = await run(['scenarios/boot-smoke.yaml'], () => healthy(withKmemleak([LEAK])));
  t.equal(r.exitCode, ExitCode.testFailed);
  const c = r.case('boot-smoke');
  t.same(statuses(c), ['boot:pass', 'step:pass', 'step:pass', 'step:pass', 'leakcheck:fail', 'shutdown:pass']);
  t.match(c.points[4]!.reason, /^kernel reported kmemleak: unreferenced object \(size 128\) allocated by nvdimm_bus_register/);
  t.equal(c.points[4]!.findings?.[0]?.type, 'kmemleak');
  t.equal(titleFor(c.points[4]!.findings![0]!), 'memory leak in nvdimm_bus_register', "titled the syzbot way ('memory leak in FUNC')");
  t.match(r.tap, /not ok 5 - kmemleak scan/, 'TAP shows the failing scan');
  const plain = await run(['scenarios/boot-smoke.yaml'], () => healthy());
  t.notOk(plain.case('boot-smoke').points.some((p) => p.kind === 'leakcheck'), 'no kmemleak: no leakcheck point');
});

t.test('kmemleak: a leak the case expects passes (expect: judged on the leakcheck point)', async (t) => {
  const title = 'memory leak in nvdimm_bus_register';
  const file = join(dir, 'expect-leak.yaml');
  await writeFile(file, `name: expect-leak\nmemmap: 512M!4G\nexpect: { finding: '${title}' }\nsteps:\n  - run: uname -r\n`);
  const r = await run([file], () => healthy(withKmemleak([LEAK])));
  t.equal(r.exitCode, ExitCode.ok);
  const c = r.case('expect-leak');
  t.same(statuses(c), ['boot:pass', 'step:pass', 'leakcheck:pass', 'shutdown:pass', 'step:pass']);
  t.match(c.points[2]!.reason, /^expected finding seen: memory leak in /);
});

t.test('kmemleak: a leak keeps the next case off the shared boot', async (t) => {
  const file = join(dir, 'shared-leak.yaml');
  await writeFile(file, 'name: shared-leak\nmatrix:\n  n:\n    a: 1\n    b: 2\nshareBoot: true\nmemmap: 512M!4G\nsteps:\n  - run: echo "$n"\n');
  const answer: CommandHandler = (cmd) => (/^export n=\d+\necho "\$n"$/.test(cmd) ? { stdout: 'n\n' } : undefined);
  // One guest script for both boots: the first scan finds the leak, the second (in a fresh boot) nothing.
  const scans = withKmemleak([LEAK, ''], answer);
  const r = await run([file], () => healthy(scans));
  const [first, second] = r.run.cases;
  t.same(statuses(first!), ['boot:pass', 'step:pass', 'leakcheck:fail', 'shutdown:pass'], 'no hand-over after a leak');
  t.same(statuses(second!), ['boot:pass', 'step:pass', 'leakcheck:pass', 'shutdown:pass'], 'a fresh boot, a clean scan');
  t.equal(r.host.vms.length, 2);
});

/** A guest whose gcov counters are there: the collection prints a framed archive. */
const gcovArchive = gzipSync(Buffer.from('fake gcda files'));
const withGcov = (inner: CommandHandler = bootSmoke): CommandHandler => (cmd, w) =>
  cmd.includes('/sys/kernel/debug/gcov') ? { stdout: `--- ramdax-harness gcov begin ---\n${gcovArchive.toString('base64')}\n--- ramdax-harness gcov end ---\n`, stderr: 'gcda files: 3\n' } : inner(cmd, w);

t.test('coverage: counters saved before the power-off, as a coverage event and a segment file', async (t) => {
  const results = await tempDir('ramdax-hooks-results-');
  const r = await run(['scenarios/boot-smoke.yaml'], () => healthy(withGcov()), { coverage: {}, results });
  t.equal(r.exitCode, ExitCode.ok, 'coverage is no verdict');
  const cov = r.events.get('boot-smoke')!.filter((e) => e.type === 'coverage');
  t.same(cov.map((e) => e.type === 'coverage' && [e.label, e.segment, e.lost]), [['before power-off', '01-before-power-off.tar.gz', undefined]]);
  const caseDir = join(r.run.dir, safeName('boot-smoke'));
  t.same(await readFile(join(caseDir, 'coverage', '01-before-power-off.tar.gz')), gcovArchive, 'the segment as the guest sent it');
  const status = JSON.parse(await readFile(join(caseDir, 'coverage', 'status.json'), 'utf8'));
  t.same([status.segments.length, status.lost], [1, []]);
  const events = r.events.get('boot-smoke')!.map((e) => e.type);
  t.ok(events.indexOf('coverage') < events.indexOf('shutdown'), 'collected before the shutdown point');
  t.match(r.tap, /# coverage/, 'the run ends with the coverage summary in TAP');
});

t.test('coverage: each case of a shared boot gets its own segment at the hand-over', async (t) => {
  const file = join(dir, 'shared-cov.yaml');
  await writeFile(file, 'name: shared-cov\nmatrix:\n  n:\n    a: 1\n    b: 2\nshareBoot: true\nmemmap: 512M!4G\nsteps:\n  - run: echo "$n"\n');
  const answer: CommandHandler = (cmd) => (/^export n=\d+\necho "\$n"$/.test(cmd) ? { stdout: 'n\n' } : undefined);
  const r = await run([file], () => healthy(withGcov(answer)), { coverage: {} });
  t.equal(r.host.vms.length, 1, 'one boot');
  const labels = r.run.cases.map((c) => r.events.get(c.id)!.flatMap((e) => (e.type === 'coverage' ? [e.label] : [])));
  t.same(labels, [['end of case (shared boot)'], ['before power-off']]);
});

t.test('coverage: a guest that panicked cannot be asked: the counters are marked lost', async (t) => {
  const r = await run([fixture('guest-panic')], () => panicsOnCrash(withGcov), { coverage: {} });
  t.equal(r.exitCode, ExitCode.testFailed);
  const cov = r.events.get('guest-panic')!.flatMap((e) => (e.type === 'coverage' ? [e] : []));
  t.equal(cov.length, 1);
  t.match(cov[0]!.lost, /the guest was gone .* before power-off/);
  const status = JSON.parse(await readFile(join(r.run.dir, safeName('guest-panic'), 'coverage', 'status.json'), 'utf8'));
  t.equal(status.lost.length, 1, 'status.json says the coverage is incomplete');
});
