import t from 'tap';
import { findFindings } from '../../harness/triage/findings.js';
import { frameName, kmemleakFindings } from '../../harness/triage/kmemleak.js';

/** /sys/kernel/debug/kmemleak as Linux 7.x prints it (mm/kmemleak.c __print_unreferenced: %pS frames, no addresses). */
const report = `unreferenced object 0xffff888006f3c400 (size 128):
  comm "sh", pid 214, jiffies 4294902811
  hex dump (first 32 bytes):
    6e 64 62 75 73 31 00 00 00 00 00 00 00 00 00 00  ndbus1..........
    00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
  backtrace (crc 5d1c2a3b):
    kmemleak_alloc+0x4a/0x80
    __kmalloc_noprof+0x2f1/0x4c0
    nvdimm_bus_register+0x6a/0x2e0
    ramdax_probe+0x1b3/0x3a0
    platform_probe+0x41/0xa0
unreferenced object 0xffff888006f3c800 (size 128):
  comm "sh", pid 231, jiffies 4294903811
  hex dump (first 32 bytes):
    6e 64 62 75 73 32 00 00 00 00 00 00 00 00 00 00  ndbus2..........
  backtrace (crc 1d1c2a3b):
    kmemleak_alloc+0x4a/0x80
    __kmalloc_noprof+0x2f1/0x4c0
    nvdimm_bus_register+0x6a/0x2e0
    ramdax_probe+0x1b3/0x3a0
unreferenced object (percpu) 0x00003d1f2ea0 (size 8):
  comm "modprobe", pid 88, jiffies 4294900000
  backtrace (crc 0):
    [<ffffffff8134abcd>] pcpu_alloc_noprof+0x5a1/0x9d0
    [<ffffffff8134abce>] nd_region_create+0x123/0x400 [libnvdimm]
`;

t.test('kmemleak report: one finding per distinct leak, titled by size and allocating function', async (t) => {
  const fs = kmemleakFindings(report);
  t.same(fs.map((f) => f.title), [
    'kmemleak: unreferenced object (size 128) allocated by nvdimm_bus_register',
    'kmemleak: unreferenced object (percpu) (size 8) allocated by nd_region_create',
  ], 'the second ndbus object is the same leak; addresses, pids and jiffies are not in the title');
  t.ok(fs.every((f) => f.type === 'kmemleak'));
  t.match(fs[0]!.line, /^unreferenced object 0xffff888006f3c400 \(size 128\):$/);
  t.ok(fs[0]!.context.some((l) => /nvdimm_bus_register/.test(l)), 'the backtrace is in the context');
  t.notOk(fs[0]!.context.some((l) => /ndbus2/.test(l)), 'the context stops at the next object');
});

t.test('kmemleak report: empty, or nothing but noise, gives no finding', async (t) => {
  t.same(kmemleakFindings(''), []);
  t.same(kmemleakFindings('\n\n'), []);
});

t.test('kmemleak report: a backtrace of allocator frames only is titled by its first frame', async (t) => {
  const fs = kmemleakFindings('unreferenced object 0xffff8880 (size 64):\n  comm "x", pid 1, jiffies 1\n  backtrace (crc 0):\n    kmemleak_alloc+0x4a/0x80\n    __kmalloc_noprof+0x1/0x2\n');
  t.equal(fs[0]?.title, 'kmemleak: unreferenced object (size 64) allocated by kmemleak_alloc');
});

t.test('frameName: %pS frames with and without addresses and module names', async (t) => {
  t.equal(frameName('    nd_region_create+0x123/0x400 [libnvdimm]'), 'nd_region_create');
  t.equal(frameName('    [<ffffffff8134abce>] devm_nvdimm_memremap+0x1a/0x90'), 'devm_nvdimm_memremap');
  t.equal(frameName('  backtrace (crc 0):'), undefined);
  t.equal(frameName('    00 00 00 00'), undefined);
});

t.test("the kernel's own scan line in dmesg is a kmemleak finding with a stable title", async (t) => {
  const a = findFindings(['[  612.000001] kmemleak: 3 new suspected memory leaks (see /sys/kernel/debug/kmemleak)']);
  const b = findFindings(['[  999.000001] kmemleak: 1 new suspected memory leak (see /sys/kernel/debug/kmemleak)']);
  t.equal(a[0]?.type, 'kmemleak');
  t.equal(a[0]?.title, 'kmemleak: N new suspected memory leaks (see /sys/kernel/debug/kmemleak)');
  t.equal(b[0]?.type, 'kmemleak');
  t.same(findFindings(['[    0.100000] kmemleak: Kernel memory leak detector initialized (mem pool available: 15663)']), [], 'the start-up line is not a finding');
});

t.test('kmemleakPoint: the end-of-case scan passes clean, fails with findings, says so when kmemleak cannot scan', async (t) => {
  const { kmemleakPoint, KMEMLEAK_SCAN } = await import('../../harness/runner/kmemleak.js');
  type Session = Parameters<typeof kmemleakPoint>[0];
  const session = (stdout: string, exitCode = 0) => {
    const seen: string[] = [];
    const s = { exec: async (command: string) => (seen.push(command), { command, exitCode, stdout, stderr: exitCode ? 'sh: echo: write error: Operation not permitted\n' : '', durationMs: 5, timedOut: false }) };
    return { s: s as unknown as Session, seen };
  };
  // The case stream as a list: the scan emits its findings, then the leakcheck point that takes them.
  const { foldEvent } = await import('../../harness/model/fold.js');
  type Body = Parameters<Parameters<typeof kmemleakPoint>[1]>[0];
  let state = foldEvent(undefined, { type: 'case-started', at: 0, id: 'c', scenario: 's', file: 's.yaml', files: {} });
  const emit = async (e: Body) => {
    state = foldEvent(state, { ...e, at: 1 } as never);
    return state.added;
  };
  const clock = { now: () => 0 };
  const last = () => state.result.points.at(-1);

  const clean = session('');
  t.equal(await kmemleakPoint(clean.s, emit, 60_000, clock as never), true);
  t.same(clean.seen, [KMEMLEAK_SCAN]);
  t.match(last(), { kind: 'leakcheck', name: 'kmemleak scan', status: 'pass', details: { unreferencedObjects: 0 } });

  t.equal(await kmemleakPoint(session(report).s, emit, 60_000, clock as never), false);
  t.match(last(), { status: 'fail', reason: 'kernel reported kmemleak: unreferenced object (size 128) allocated by nvdimm_bus_register (+1 more distinct leak(s))', details: { unreferencedObjects: 3 } });
  t.equal(last()!.findings?.length, 2, 'the findings belong to the leakcheck point');

  t.equal(await kmemleakPoint(session('', 1).s, emit, 60_000, clock as never), false);
  t.match(last(), { status: 'fail', reason: /^kmemleak could not scan \(sh: echo: write error: Operation not permitted\)/ });
  t.equal(last()!.commands?.length, 1, 'the failed scan command is on its point');
  t.match(KMEMLEAK_SCAN, /^sleep 5; echo scan > \/sys\/kernel\/debug\/kmemleak && echo scan > .* && cat .* && echo clear > /, 'waits out the minimum object age, scans twice, reads, clears');
});

t.test('kmemleak findings get a syzbot-form crash title: memory leak in the allocating function', async (t) => {
  const { titleFor } = await import('../../harness/triage/findings.js');
  const [f] = kmemleakFindings(['unreferenced object 0xffff888004a1c000 (size 64):', '  comm "sh", pid 201, jiffies 4294893245', '  backtrace (crc 1a2b3c4d):', '    kmemleak_alloc+0x4a/0x80', '    __kmalloc_noprof+0x1a2/0x3f0', '    nd_region_create.constprop.0+0x58/0x3a0 [libnvdimm]', '    ramdax_probe+0x6d/0xb0'].join('\n'));
  t.equal(titleFor(f!), 'memory leak in nd_region_create');
});

t.test('the real kmemleak report of the lifecycle scenario on debug-7.2: two distinct leaks in ramdax, each titled', async (t) => {
  const { readFileSync } = await import('node:fs');
  const { titleFor } = await import('../../harness/triage/findings.js');
  const text = readFileSync(new URL('../fixtures/kmemleak/real-debug-7.2-lifecycle.txt', import.meta.url), 'utf8');
  const fs = kmemleakFindings(text);
  t.same(fs.map((f) => f.title), ['kmemleak: unreferenced object (size 16) allocated by ramdax_register_dimm', 'kmemleak: unreferenced object (size 64) allocated by ramdax_register_region']);
  t.same(fs.map((f) => titleFor(f)), ['memory leak in ramdax_register_dimm', 'memory leak in ramdax_register_region']);
});
