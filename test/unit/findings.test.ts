import t from 'tap';
import { findFindings, stripTimestamp, taintFlags, titleOf, type Finding } from '../../harness/triage/findings.js';

const lines = (text: string) => text.split('\n');
const types = (fs: Finding[]) => fs.map((f) => f.type);

/** A WARNING with its Call Trace, as a 7.x kernel prints it. */
const warning = (ts: string, cpu: number, pid: number, off: string) => `[${ts}] ------------[ cut here ]------------
[${ts}] WARNING: CPU: ${cpu} PID: ${pid} at drivers/nvdimm/ramdax.c:123 ramdax_probe+${off}/0x120 [ramdax]
[${ts}] Modules linked in: ramdax(+) libnvdimm virtio_net virtio_blk
[${ts}] CPU: ${cpu} UID: 0 PID: ${pid} Comm: modprobe Not tainted 7.2.13+deb14-amd64 #1  Debian 7.2.13-1
[${ts}] Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.3-debian-1.16.3-2 04/01/2014
[${ts}] RIP: 0010:ramdax_probe+${off}/0x120 [ramdax]
[${ts}] RSP: 0018:ffffb3c4c06efb08 EFLAGS: 00010246
[${ts}] Call Trace:
[${ts}]  <TASK>
[${ts}]  ? __warn+0x89/0x140
[${ts}]  platform_probe+0x41/0xa0
[${ts}]  really_probe+0xde/0x380
[${ts}]  </TASK>
[${ts}] ---[ end trace 0000000000000000 ]---`;

const panic = `[   20.000001] Kernel panic - not syncing: Fatal exception
[   20.000100] Kernel Offset: 0x1e000000 from 0xffffffff81000000 (relocation range: 0xffffffff80000000-0xffffffffbfffffff)
[   20.000200] ---[ end Kernel panic - not syncing: Fatal exception ]---`;

const nullDeref = (cpu: number, pid: number, addr: string) => `[   30.111111] BUG: kernel NULL pointer dereference, address: ${addr}
[   30.111112] #PF: supervisor read access in kernel mode
[   30.111113] #PF: error_code(0x0000) - not-present page
[   30.111114] PGD 0 P4D 0
[   30.111115] Oops: Oops: 0000 [#1] PREEMPT SMP NOPTI
[   30.111116] CPU: ${cpu} UID: 0 PID: ${pid} Comm: ndctl Not tainted 7.2.13+deb14-amd64 #1
[   30.111117] RIP: 0010:nd_region_probe+0x1a/0x50 [libnvdimm]
[   30.111118] Call Trace:
[   30.111119]  <TASK>
[   30.111120]  </TASK>`;

const kasan = (addr: string, pid: number) => `[   40.000000] ==================================================================
[   40.000001] BUG: KASAN: slab-out-of-bounds in ramdax_set_config+0x1f2/0x240 [ramdax]
[   40.000002] Write of size 8 at addr ${addr} by task ndctl/${pid}
[   40.000003] CPU: 3 UID: 0 PID: ${pid} Comm: ndctl Tainted: G    B              7.2.13 #1
[   40.000004] Call Trace:
[   40.000005]  <TASK>
[   40.000006]  dump_stack_lvl+0x5d/0x80
[   40.000007] ==================================================================`;

const ubsan = `[   50.000000] ------------[ cut here ]------------
[   50.000001] UBSAN: shift-out-of-bounds in drivers/nvdimm/label.c:123:45
[   50.000002] shift exponent 64 is too large for 64-bit type 'long long unsigned int'
[   50.000003] CPU: 1 UID: 0 PID: 77 Comm: kworker/1:1 Not tainted 7.2.13 #1`;

const hung = (pid: number, secs: number) => `[  245.123456] INFO: task mkfs.xfs:${pid} blocked for more than ${secs} seconds.
[  245.123457]       Not tainted 7.2.13+deb14-amd64 #1
[  245.123458] "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.
[  245.123459] task:mkfs.xfs        state:D stack:0     pid:${pid}   tgid:${pid}   ppid:1      flags:0x00004002
[  245.123460] Call Trace:`;

const rcu = `[   80.000000] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:
[   80.000001] rcu: 	1-...!: (0 ticks this GP) idle=abcd/1/0x4000000000000000 softirq=1234/1234 fqs=0
[   80.000002] 	(detected by 0, t=21002 jiffies, g=12345, q=67 ncpus=2)`;

const softLockup = (cpu: number, secs: number, pid: number) => `[   60.000000] watchdog: BUG: soft lockup - CPU#${cpu} stuck for ${secs}s! [modprobe:${pid}]
[   60.000001] Modules linked in: ramdax
[   60.000002] CPU: ${cpu} UID: 0 PID: ${pid} Comm: modprobe Not tainted 7.2.13 #1`;

const killInit = (code: string) => `[    3.000000] Kernel panic - not syncing: Attempted to kill init! exitcode=${code}
[    3.000001] CPU: 0 UID: 0 PID: 1 Comm: init Not tainted 7.2.13 #1`;

const bareTrace = `[   90.000000] Call Trace:
[   90.000001]  <TASK>
[   90.000002]  dump_stack_lvl+0x48/0x70
[   90.000003]  </TASK>`;

t.test('WARNING with Call Trace: one warning finding, the trace is part of it', async (t) => {
  const fs = findFindings(lines(warning('   12.345678', 1, 234, '0x45')));
  t.same(types(fs), ['warning']);
  t.equal(fs[0]!.title, 'warning: WARNING: CPU PID at drivers/nvdimm/ramdax.c:123 ramdax_probe [ramdax]');
  t.equal(fs[0]!.line, '[   12.345678] WARNING: CPU: 1 PID: 234 at drivers/nvdimm/ramdax.c:123 ramdax_probe+0x45/0x120 [ramdax]');
  t.ok(fs[0]!.context.some((l) => l.includes('cut here')), 'context includes lines before');
  t.ok(fs[0]!.context.some((l) => l.includes('Call Trace:')), 'context includes lines after');
});

t.test('Kernel panic', async (t) => {
  const fs = findFindings(lines(panic));
  t.equal(fs[0]?.type, 'panic');
  t.equal(fs[0]?.title, 'panic: Kernel panic - not syncing: Fatal exception');
  t.ok(fs.every((f) => f.type === 'panic'));
});

t.test('NULL pointer dereference: the BUG line and its Oops are one oops finding', async (t) => {
  const fs = findFindings(lines(nullDeref(0, 345, '0000000000000008')));
  t.same(types(fs), ['oops']);
  t.equal(fs[0]!.title, 'oops: BUG: kernel NULL pointer dereference, address: ADDR');
});

t.test('KASAN is classified as kasan, not as a generic BUG', async (t) => {
  const fs = findFindings(lines(kasan('ffff888012345678', 456)));
  t.same(types(fs), ['kasan']);
  t.equal(fs[0]!.title, 'kasan: BUG: KASAN: slab-out-of-bounds in ramdax_set_config [ramdax]');
});

t.test('UBSAN', async (t) => {
  const fs = findFindings(lines(ubsan));
  t.same(types(fs), ['ubsan']);
  t.equal(fs[0]!.title, 'ubsan: UBSAN: shift-out-of-bounds in drivers/nvdimm/label.c:123:45');
});

t.test('hung task', async (t) => {
  const fs = findFindings(lines(hung(1234, 120)));
  t.same(types(fs), ['hung-task']);
  t.match(fs[0]!.title, /^hung-task: INFO: task mkfs\.xfs\b.* blocked for more than N seconds\.$/);
});

t.test('RCU stall (both spellings)', async (t) => {
  t.same(types(findFindings(lines(rcu))), ['rcu-stall']);
  t.same(types(findFindings(['[ 80.0] rcu: INFO: rcu_sched self-detected stall on CPU'])), ['rcu-stall']);
  t.same(types(findFindings(['[ 80.0] INFO: rcu_preempt detected stalls on CPUs/tasks: { 1-... } (detected by 0, t=5252 jiffies)'])), ['rcu-stall']);
});

t.test('soft lockup', async (t) => {
  const fs = findFindings(lines(softLockup(1, 22, 123)));
  t.same(types(fs), ['soft-lockup']);
  t.match(fs[0]!.title, /^soft-lockup: watchdog: BUG: soft lockup - CPU#N stuck for /);
});

t.test('Attempted to kill init is classified as init-killed', async (t) => {
  const fs = findFindings(lines(killInit('0x00000009')));
  t.equal(fs.length, 1);
  t.equal(fs[0]?.type, 'init-killed', 'the real kernel message is a panic line; it must still be recognised as init-killed');
  t.match(fs[0]?.title, /Attempted to kill init/);
});

t.test('a bare Call Trace is a finding of its own', async (t) => {
  const fs = findFindings(lines(bareTrace));
  t.same(types(fs), ['call-trace']);
  t.equal(fs[0]!.title, 'call-trace: Call Trace:');
});

t.test('a Call Trace far below an explained finding counts again; a near one does not', async (t) => {
  const filler = Array.from({ length: 45 }, (_, i) => `[ 13.${String(i).padStart(6, '0')}] ramdax: filler line ${i}`);
  const far = [...lines(warning('   12.345678', 1, 234, '0x45')), ...filler, ...lines(bareTrace)];
  t.same(types(findFindings(far)), ['warning', 'call-trace']);
  const near = [...lines(warning('   12.345678', 1, 234, '0x45')), ...filler.slice(0, 5), ...lines(bareTrace)];
  t.same(types(findFindings(near)), ['warning']);
});

t.test('general protection fault', async (t) => {
  const fs = findFindings(['[   91.000000] Oops: general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] PREEMPT SMP NOPTI']);
  t.equal(fs[0]?.type, 'gpf');
  t.equal(fs[0]?.title, 'gpf: Oops: general protection fault, probably for non-canonical address ADDR: 0000 [#N] PREEMPT SMP NOPTI');
});

t.test('kernel BUG at, KFENCE, hard lockup', async (t) => {
  const bugAt = findFindings(['[   70.000000] kernel BUG at drivers/nvdimm/region_devs.c:456!', '[   70.000001] Oops: invalid opcode: 0000 [#1] PREEMPT SMP NOPTI']);
  t.same(types(bugAt), ['bug'], 'the Oops line belongs to the BUG report');
  t.equal(bugAt[0]!.title, 'bug: kernel BUG at drivers/nvdimm/region_devs.c:456!');
  t.same(types(findFindings(['[ 71.0] BUG: KFENCE: use-after-free read in ramdax_remove+0x10/0x40 [ramdax]'])), ['kfence']);
  t.same(types(findFindings(['[ 72.0] NMI watchdog: Watchdog detected hard LOCKUP on cpu 1'])), ['hard-lockup']);
});

t.test('clean boot log: no findings', async (t) => {
  const clean = `[    0.000000] Linux version 7.2.13+deb14-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 7.2.13-1
[    0.000000] Command line: console=ttyS0,115200 root=/dev/vda memmap=1G!4G
[    0.000000] user: [mem 0x0000000100000000-0x000000013fffffff] persistent (type 12)
[    1.234567] nd_pmem namespace0.0: unable to guarantee persistence of writes
[    1.300000] EXT4-fs (pmem0): mounted filesystem with ordered data mode. Quota mode: none.
[    1.400000] harness-init: sshd started
[    2.000000] ACPI: bus type PCI registered
[    2.100000] audit: type=1400 audit(1700000000.000:2): apparmor="STATUS" operation="profile_load"`;
  t.same(findFindings(lines(clean)), []);
});

t.test('titles are stable when timestamps, CPU, PID, offsets and addresses differ', async (t) => {
  const pairs: [string, string, string][] = [
    ['warning', warning('   12.345678', 1, 234, '0x45'), warning(' 1012.000001', 3, 9876, '0x4a')],
    ['null deref', nullDeref(0, 345, '0000000000000008'), nullDeref(2, 777, '0000000000000010')],
    ['kasan', kasan('ffff888012345678', 456), kasan('ffff88801abcdef0', 999)],
    ['panic', panic, panic.replaceAll('20.0', '99.9')],
    ['kill init', killInit('0x00000009'), killInit('0x00000009').replace('3.000000', '7.123456')],
    ['hung task', hung(1234, 120), hung(4321, 241)],
    ['soft lockup', softLockup(1, 22, 123), softLockup(0, 48, 456)],
    ['hard lockup', '[ 61.0] NMI watchdog: Watchdog detected hard LOCKUP on cpu 1', '[ 99.5] NMI watchdog: Watchdog detected hard LOCKUP on cpu 0'],
  ];
  t.not(findFindings(lines(killInit('0x00000009')))[0]!.title, findFindings(lines(killInit('0x0000000b')))[0]!.title, 'init killed by different signals are different findings (exit code kept)');
  for (const [what, a, b] of pairs) {
    const ta = findFindings(lines(a)).map((f) => f.title);
    const tb = findFindings(lines(b)).map((f) => f.title);
    t.ok(ta.length > 0, `${what}: found`);
    t.same(tb, ta, `${what}: same titles`);
  }
});

t.test('titles carry no timestamps, no CPU/PID numbers, no addresses', async (t) => {
  const all = [warning('   12.345678', 1, 234, '0x45'), panic, nullDeref(0, 345, '0000000000000008'), kasan('ffff888012345678', 456), ubsan, hung(1234, 120), rcu, softLockup(1, 22, 123), killInit('0x00000009'), bareTrace].flatMap((l) => findFindings(lines(l)));
  for (const f of all) {
    t.notMatch(f.title, /\[\s*\d+\.\d+\]/, `${f.title}: no timestamp`);
    t.notMatch(f.title, /\b(CPU|PID): ?\d/, `${f.title}: no CPU/PID number`);
    t.notMatch(f.title, /ffff[0-9a-f]{12}|\+0x[0-9a-f]+\/0x/, `${f.title}: no address or offset`);
    t.ok(f.title.startsWith(`${f.type}: `), `${f.title}: starts with its type`);
    t.ok(f.title.length <= 160 + f.type.length + 2, 'bounded length');
  }
});

t.test('stripTimestamp and titleOf', async (t) => {
  t.equal(stripTimestamp('[   12.345678] hello'), 'hello');
  t.equal(stripTimestamp('<4>[   12.345678] hello'), 'hello');
  t.equal(stripTimestamp('[12.3]hello'), 'hello');
  t.equal(stripTimestamp('no stamp [1.0] here'), 'no stamp [1.0] here');
  t.equal(titleOf('warning', 'WARNING: x'.padEnd(300, 'y')).length, 'warning: '.length + 160);
  t.match(titleOf('warning', 'WARNING: x'.padEnd(300, 'y')), /\.\.\.$/);
});

t.test('taintFlags names the taint bits as the kernel does', async (t) => {
  t.equal(taintFlags(0), 'none');
  t.equal(taintFlags(512), 'W', 'bit 9: a WARNING happened');
  t.equal(taintFlags(1 | 4096), 'PO', 'proprietary + out-of-tree module');
  t.equal(taintFlags(1 << 14), 'L', 'bit 14: soft lockup');
  t.equal(taintFlags(1 << 15), 'K', 'bit 15: live patch');
});

t.test('a kernel loaded outside RAM (kexec into a memmap=! carve-out) is a warning', async (t) => {
  const fs = findFindings(lines('[    0.000000] BIOS-e820: [mem 0x0000000100000000-0x000000013fffffff] persistent (type 12)\n[    0.004000] .text .data .bss are not marked as E820_TYPE_RAM!\n[    0.004100] Memory: 3981312K/4193784K available'));
  t.same(types(fs), ['warning']);
  t.equal(fs[0]!.title, 'warning: .text .data .bss are not marked as E820_TYPE_RAM!');
});
