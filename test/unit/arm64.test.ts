import t from 'tap';
import { foreignGuest } from '../../harness/vm/kvm-probe.js';
import { hostArch } from '../../harness/common/arch.js';
import { cells, dtsEdits, MAX_USABLE_RANGES, planDtb, platformDeviceName, subtract, VIRT_LOADER_BYTES } from '../../harness/vm/dtb-plan.js';
import { rootCells } from '../../harness/vm/dtb.js';
import { baseCmdline, dumpDtbArgv, machineOpt, qemuArgv, type VmSpec } from '../../harness/vm/qemu-args.js';
import { guestRamRanges, parseMemmapArg, unbackedReason, VIRT_RAM_BASE, type MemmapArg } from '../../harness/scenario/memmap.js';
import { parseReg, pairs } from '../../harness/steps/ramdax-of.js';
import { parseBinfmtEntry } from '../../harness/setup/foreign-exec.js';
import { caseIdentity, identityDiff } from '../../harness/perf/compare.js';
import { reproScript, type ReproManifest } from '../../harness/results/repro.js';
import type { CaseResult } from '../../harness/results/model.js';
import { bootKey } from '../../harness/plan/boot-groups.js';
import type { Scenario } from '../../harness/scenario/load.js';

const M = 1024 ** 2;
const G = 1024 ** 3;
const mm = (...texts: string[]): MemmapArg[] => texts.map((x) => parseMemmapArg(x) as MemmapArg);

// ---------------------------------------------------------------- RAM layout of virt

t.test('virt RAM is one block from 1 GiB up; carve-outs outside it are unbacked', async (t) => {
  t.same(guestRamRanges(4 * G, 'virt'), [{ start: G, end: 5 * G }]);
  t.equal(VIRT_RAM_BASE, G);
  t.equal(unbackedReason({ size: G, start: 4 * G }, 4 * G, 'virt'), undefined, 'the top GiB of 4G at 1G..5G');
  t.match(unbackedReason({ size: G, start: 5 * G }, 4 * G, 'virt'), /is not inside guest RAM \(0x40000000-0x13fffffff with memory 4G on 'virt'\)/);
  t.match(unbackedReason({ size: 512 * M, start: 0 }, 4 * G, 'virt'), /not inside guest RAM/, 'below RAM: the flash and device area');
});

// ---------------------------------------------------------------- carve-outs → device tree

t.test('planDtb: one memmap entry is one pmem-region node, each range one reg entry', async (t) => {
  const one = planDtb(mm('1G!4G'), 4 * G);
  t.same(one.problems, []);
  t.same(one.plan.nodes, [{ name: 'pmem@100000000', reg: [{ size: G, start: 4 * G }], arg: 0 }]);
  t.same(one.plan.usable, [{ start: G, end: 4 * G }], 'RAM below the carve-out stays usable');

  const twoRanges = planDtb(mm('512M!4G,512M!4608M'), 4 * G);
  t.same(twoRanges.plan.nodes.map((n) => [n.name, n.reg.length]), [['pmem@100000000', 2]], 'several ranges in one node');
  t.same(twoRanges.plan.usable, [{ start: G, end: 4 * G }]);

  const twoNodes = planDtb(mm('512M!4G', '512M!4608M'), 4 * G);
  t.same(twoNodes.plan.nodes.map((n) => [n.name, n.reg.length, n.arg]), [['pmem@100000000', 1, 0], ['pmem@120000000', 1, 1]], 'several nodes');
  t.same(twoNodes.plan.usable, [{ start: G, end: 4 * G }]);
});

t.test('planDtb: a carve-out in the middle leaves two usable pieces; three pieces are refused', async (t) => {
  const middle = planDtb(mm('1G!3G'), 4 * G);
  t.same(middle.problems, []);
  t.same(middle.plan.usable, [{ start: G, end: 3 * G }, { start: 4 * G, end: 5 * G }]);

  const three = planDtb(mm('256M!2G', '256M!3G'), 4 * G);
  t.equal(three.plan.usable.length, 3);
  t.equal(three.problems.length, 1);
  t.match(three.problems[0]!.message, new RegExp(`leave guest RAM in 3 pieces .* at most ${MAX_USABLE_RANGES} linux,usable-memory-range entries`));
  t.equal(three.problems[0]!.arg, undefined, 'the set as a whole is at fault');
});

t.test('planDtb: the start of RAM is where QEMU puts kernel, initrd and DTB', async (t) => {
  const low = planDtb(mm('128M!1G'), 4 * G);
  t.equal(low.problems.length, 1);
  t.match(low.problems[0]!.message, /overlaps the first 256M of guest RAM \(0x40000000-0x4fffffff\), where QEMU loads the kernel, initrd and device tree/);
  t.equal(low.problems[0]!.arg, 0);
  t.same(planDtb(mm('128M!1280M'), 4 * G).problems, [], `from RAM + ${VIRT_LOADER_BYTES / M}M on it is fine`);
  t.equal(planDtb(mm('1G!4G', '64M!1100M'), 4 * G).problems[0]?.arg, 1, 'points at the entry at fault');
});

t.test('planDtb: a range outside RAM (allowUnbackedMemmap) takes no RAM away', async (t) => {
  const out = planDtb(mm('1G!8G'), 4 * G);
  t.same(out.problems, []);
  t.same(out.plan.usable, [], 'no linux,usable-memory-range: all RAM stays usable');
  t.same(out.plan.nodes[0]!.reg, [{ size: G, start: 8 * G }]);
  const half = planDtb(mm('2G!4G'), 4 * G);
  t.same(half.plan.usable, [{ start: G, end: 4 * G }], 'half inside: the inside part is taken away');
});

t.test('subtract', async (t) => {
  const ram = { start: 100, end: 200 };
  t.same(subtract(ram, []), [ram]);
  t.same(subtract(ram, [{ start: 100, end: 200 }]), []);
  t.same(subtract(ram, [{ start: 150, end: 160 }, { start: 120, end: 130 }]), [{ start: 100, end: 120 }, { start: 130, end: 150 }, { start: 160, end: 200 }], 'unsorted input');
  t.same(subtract(ram, [{ start: 0, end: 110 }, { start: 190, end: 300 }]), [{ start: 110, end: 190 }], 'clipped to RAM');
  t.same(subtract(ram, [{ start: 120, end: 140 }, { start: 130, end: 150 }]), [{ start: 100, end: 120 }, { start: 150, end: 200 }], 'overlapping cuts');
  t.same(subtract(ram, [{ start: 300, end: 400 }]), [ram], 'outside');
});

t.test('cells: 64-bit address and size as two 32-bit cells each', async (t) => {
  t.equal(cells(4 * G, G), '<0x1 0x0 0x0 0x40000000>');
  t.equal(cells(0x1_2345_6000, 0x1000_0800), '<0x1 0x23456000 0x0 0x10000800>');
  t.equal(cells(0, 0), '<0x0 0x0 0x0 0x0>');
  t.equal(cells(2 ** 40, 3 * G), '<0x100 0x0 0x0 0xc0000000>');
});

t.test('dtsEdits: the DTS appended to QEMU\'s tree', async (t) => {
  const { plan } = planDtb(mm('512M!4G,0x10000800!0x120000000', '256M!0x134000000'), 4 * G);
  const dts = dtsEdits(plan);
  t.match(dts, /^\/ \{$/m, 'one root block, merged by dtc into QEMU\'s');
  t.match(dts, /\tchosen \{\n\t\t\/delete-property\/ rng-seed;\n\t\t\/delete-property\/ kaslr-seed;\n/, 'random seeds removed: the same scenario gives the same DTB');
  t.match(dts, /\tpmem@100000000 \{\n\t\tcompatible = "pmem-region";\n\t\treg = <0x1 0x0 0x0 0x20000000>, <0x1 0x20000000 0x0 0x10000800>;\n\t\};/);
  t.match(dts, /\tpmem@134000000 \{\n\t\tcompatible = "pmem-region";\n\t\treg = <0x1 0x34000000 0x0 0x10000000>;/);
  t.equal(dts.match(/compatible = "pmem-region"/g)?.length, 2);
  const usable = /linux,usable-memory-range = (.*);/.exec(dts)![1]!;
  t.equal(usable, '<0x0 0x40000000 0x0 0xc0000000>, <0x1 0x30000800 0x0 0x3fff800>', 'RAM below, and the gap between the second range and the second node');
  t.notMatch(dtsEdits(planDtb([], 4 * G).plan), /usable-memory-range|compatible/, 'no carve-outs: only the seeds go');
});

t.test('platformDeviceName: how the kernel names a root node\'s platform device', async (t) => {
  t.equal(platformDeviceName('pmem@100000000'), '100000000.pmem');
  t.equal(platformDeviceName('pmem@134000000'), '134000000.pmem');
  t.equal(platformDeviceName('pmem'), 'pmem');
});

t.test('rootCells: the root\'s #address-cells/#size-cells, not a child\'s', async (t) => {
  const dts = '/dts-v1/;\n\n/ {\n\tinterrupt-parent = <0x8002>;\n\t#size-cells = <0x02>;\n\t#address-cells = <0x02>;\n\tcompatible = "linux,dummy-virt";\n\n\tplatform-bus@c000000 {\n\t\t#address-cells = <0x01>;\n\t\t#size-cells = <0x01>;\n\t};\n};\n';
  t.same(rootCells(dts), { address: 2, size: 2 });
  t.same(rootCells(dts.replace('#size-cells = <0x02>', '#size-cells = <0x01>')), { address: 2, size: 1 });
  t.same(rootCells('/ {\n\tpsci {\n\t\t#address-cells = <0x02>;\n\t};\n};\n'), { address: undefined, size: undefined }, 'only a child has them');
});

// ---------------------------------------------------------------- QEMU argv

const spec = (over: Partial<VmSpec> = {}): VmSpec => ({
  binary: 'qemu-system-aarch64',
  arch: 'arm64',
  machine: 'virt',
  accel: 'tcg',
  cpus: 2,
  memoryBytes: 4 * G,
  kernel: '/k/vmlinuz',
  initrd: '/k/initrd.img',
  cmdline: baseCmdline({ initrd: true, noReboot: true, arch: 'arm64' }).join(' '),
  dtb: '/cache/dtb/abc/guest.dtb',
  disks: [{ path: '/i/rootfs.img', format: 'raw', snapshot: true }],
  sshPort: 42022,
  qmpSocket: '/tmp/q.sock',
  noReboot: true,
  ...over,
});
const after = (argv: string[], flag: string) => argv[argv.indexOf(flag) + 1];

t.test('arm64 argv: virt, -cpu max under TCG, the DTB, PL011 console, virtio-pci devices', async (t) => {
  const argv = qemuArgv(spec());
  t.equal(after(argv, '-machine'), 'virt');
  t.equal(after(argv, '-cpu'), 'max');
  t.equal(after(argv, '-accel'), 'tcg,thread=multi');
  t.equal(after(argv, '-dtb'), '/cache/dtb/abc/guest.dtb');
  t.ok(argv.indexOf('-dtb') > argv.indexOf('-kernel') && argv.indexOf('-dtb') < argv.indexOf('-append'), 'with the boot arguments');
  t.match(after(argv, '-append'), /^console=ttyAMA0,115200 /);
  t.notMatch(after(argv, '-append'), /memmap=/, 'no memmap= on arm64');
  t.ok(argv.includes('virtio-net-pci,netdev=net0'));
  t.notOk(qemuArgv(spec({ dtb: undefined })).includes('-dtb'), 'no -dtb without one');
  t.notOk(qemuArgv({ ...spec(), arch: 'x86_64', machine: 'pc', dtb: undefined }).includes('-dtb'));
});

t.test('machineOpt: GIC from the host under KVM, RAM file backend', async (t) => {
  t.equal(machineOpt({ machine: 'virt', accel: 'kvm' }), 'virt,gic-version=host');
  t.equal(machineOpt({ machine: 'virt', accel: 'tcg', memoryFile: '/dev/shm/x/ram' }), 'virt,memory-backend=ram0');
  t.equal(machineOpt({ machine: 'pc', accel: 'kvm' }), 'pc', 'x86 unchanged');
  t.equal(machineOpt({ machine: 'q35', accel: 'tcg', memoryFile: '/r', numa: true }), 'q35');
  t.equal(after(qemuArgv(spec({ accel: 'kvm' })), '-cpu'), 'host');
});

t.test('dumpDtbArgv: the boot\'s machine shape, no RAM file, exits after writing', async (t) => {
  const argv = dumpDtbArgv({ machine: 'virt', accel: 'tcg', cpus: 2, memoryBytes: 4 * G }, '/w/a,b/qemu.dtb');
  t.same(argv, ['-machine', 'virt,dumpdtb=/w/a,,b/qemu.dtb', '-accel', 'tcg,thread=multi', '-cpu', 'max', '-smp', '2', '-m', '4096M', '-nodefaults', '-no-user-config', '-display', 'none']);
  const numa = dumpDtbArgv({ machine: 'virt', accel: 'tcg', cpus: 2, memoryBytes: 2 * G, numa: true, icount: 3 }, 'o');
  t.ok(numa.includes('node,nodeid=0,cpus=0-1,memdev=ram0'), 'NUMA shapes the tree (numa-node-id)');
  t.ok(numa.includes('shift=3'));
  const withFile = dumpDtbArgv({ machine: 'virt', accel: 'tcg', cpus: 1, memoryBytes: G, memoryFile: '/dev/shm/ram' } as never, 'o');
  t.notMatch(withFile.join(' '), /memory-backend|\/dev\/shm/, 'a RAM file is not created for the dump');
});

t.test('baseCmdline: the serial console per architecture', async (t) => {
  t.equal(baseCmdline({ initrd: true, noReboot: true })[0], 'console=ttyS0,115200', 'x86 default unchanged');
  t.equal(baseCmdline({ initrd: true, noReboot: true, arch: 'arm64' })[0], 'console=ttyAMA0,115200');
});

// ---------------------------------------------------------------- accelerator

t.test('foreignGuest: KVM only for guests of the host architecture', async (t) => {
  t.equal(foreignGuest('x86_64', 'x86_64'), undefined);
  t.equal(foreignGuest('arm64', 'arm64'), undefined);
  const d = foreignGuest('x86_64', 'arm64')!;
  t.equal(d.accel, 'tcg');
  t.match(d.reason, /^arm64 guest on x86_64 host: TCG/);
  t.equal(foreignGuest(undefined, 'x86_64')?.accel, 'tcg');
  t.equal(hostArch('x64'), 'x86_64');
  t.equal(hostArch('arm64'), 'arm64');
  t.equal(hostArch('riscv64'), undefined);
});

// ---------------------------------------------------------------- guest-side parsing

t.test('parseReg: od -An -tx1 of a reg property, 16 bytes per entry', async (t) => {
  const od = ' 00 00 00 01 00 00 00 00 00 00 00 00 40 00 00 00\n 00 00 00 01 20 00 00 00 00 00 00 00 10 00 08 00\n';
  t.same(parseReg(od), [{ start: 4 * G, size: G }, { start: 0x1_2000_0000, size: 0x1000_0800 }]);
  t.same(parseReg(''), []);
  t.equal(parseReg(' 00 00 00 01'), undefined, 'not whole entries');
  t.equal(parseReg('od: /x/reg: No such file'), undefined);
});

t.test('pairs: NAME VALUE lines', async (t) => {
  t.same(pairs('100000000.pmem /sys/firmware/devicetree/base/pmem@100000000\n\nndbus0 100000000.pmem\n'), [
    ['100000000.pmem', '/sys/firmware/devicetree/base/pmem@100000000'],
    ['ndbus0', '100000000.pmem'],
  ]);
  t.same(pairs('lonely\n'), []);
});

t.test('parseBinfmtEntry', async (t) => {
  t.same(parseBinfmtEntry('enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\noffset 0\nmagic 7f454c46\n'), { enabled: true, interpreter: '/usr/libexec/qemu-binfmt/aarch64-binfmt-P', flags: 'PF' });
  t.same(parseBinfmtEntry('disabled\ninterpreter /usr/bin/qemu-aarch64-static\nflags: \n'), { enabled: false, interpreter: '/usr/bin/qemu-aarch64-static', flags: '' });
});

// ---------------------------------------------------------------- identity: boots, compare, repro

const scen = (arch: 'x86_64' | 'arm64'): Scenario =>
  ({
    kernel: 'k',
    image: 'i',
    machine: { arch, type: arch === 'arm64' ? 'virt' : 'pc', memory: 4 * G, cpus: 2, accel: 'auto', ramFile: false, numa: false, disks: [] },
    memmap: mm('1G!4G'),
    cmdline: [],
    steps: [],
    timeouts: { boot: 1, ssh: 1 },
    retries: { boot: 1 },
  }) as unknown as Scenario;

t.test('the architecture is part of a boot\'s identity', async (t) => {
  t.not(bootKey(scen('x86_64')), bootKey(scen('arm64')));
  t.equal(bootKey(scen('arm64')), bootKey(scen('arm64')));
});

t.test('compare pairs cases of the same architecture and device tree only', async (t) => {
  const c = (arch: string | undefined, edits?: string): CaseResult =>
    ({ id: 'x', machine: arch ? { arch, type: arch === 'arm64' ? 'virt' : 'pc', cpus: 2, memoryBytes: 4 * G } : { type: 'pc', cpus: 2, memoryBytes: 4 * G }, ...(edits ? { dtb: { sha256: 's', path: 'p', dts: 'd', edits } } : {}), points: [] }) as unknown as CaseResult;
  t.equal(caseIdentity(c(undefined)).arch, 'x86_64', 'runs from before architectures were x86_64');
  t.equal(identityDiff(c(undefined), c('x86_64')), undefined);
  t.equal(identityDiff(c('x86_64'), c('arm64')), 'arch');
  t.equal(identityDiff(c('arm64', 'A'), c('arm64', 'B')), 'deviceTreeEdits');
  t.equal(identityDiff(c('arm64', 'A'), c('arm64', 'A')), undefined);
});

t.test('the reproducer boots the bundle\'s copy of the device tree and checks its hash', async (t) => {
  const m: ReproManifest = {
    caseId: 'arm64-fsdax',
    runId: 'r1',
    scenarioFile: 'scenario.yaml',
    originalScenarioFile: 'scenarios/arm64/fsdax.yaml',
    qemuArgv: ['qemu-system-aarch64', '-machine', 'virt', '-kernel', '/k/vmlinuz', '-dtb', '/cache/dtb/abc/guest.dtb', '-append', 'console=ttyAMA0,115200'],
    kernel: undefined,
    image: undefined,
    accel: { accel: 'tcg', reason: 'arm64 guest on x86_64 host' },
    harness: { version: '0', node: 'v20' },
    sshKey: '/keys/id',
    dtb: { file: '/r/case/repro/guest.dtb', sha256: 'f00d', edits: '/ {\n\tpmem@100000000 {\n\t};\n};\n' },
  };
  const sh = reproScript(m, '/r/case/repro');
  t.match(sh, /-dtb \/r\/case\/repro\/guest\.dtb/);
  t.notMatch(sh, /\/cache\/dtb\/abc/, 'not the cache\'s copy');
  t.match(sh, /'f00d {2}\/r\/case\/repro\/guest\.dtb'/, 'hash checked');
  t.match(sh, /^# {3}\tpmem@100000000 \{$/m, 'the edits are shown');
});

// ---------------------------------------------------------------- arm64 source builds

t.test('cross builds: ARCH and CROSS_COMPILE on every make, Image instead of bzImage', async (t) => {
  const { crossPrefix, kernelImage, makeArgs } = await import('../../harness/build/toolchain.js');
  t.equal(crossPrefix('arm64', 'x86_64'), 'aarch64-linux-gnu-');
  t.equal(crossPrefix('arm64', 'arm64'), '', 'native on an arm64 host');
  t.equal(crossPrefix('x86_64', 'x86_64'), '');
  t.same(makeArgs('/src', '/obj', { cc: 'ccache aarch64-linux-gnu-gcc', arch: 'arm64', crossCompile: 'aarch64-linux-gnu-' }, ['Image'], ['-j2']), [
    '-C', '/src', 'O=/obj', 'ARCH=arm64', 'CROSS_COMPILE=aarch64-linux-gnu-', 'CC=ccache aarch64-linux-gnu-gcc', '-j2', 'Image',
  ]);
  t.same(makeArgs('/src', '/obj', { cc: 'gcc' }, ['bzImage']), ['-C', '/src', 'O=/obj', 'CC=gcc', 'bzImage'], 'x86 unchanged');
  t.same(kernelImage('arm64'), { target: 'Image', path: 'arch/arm64/boot/Image' });
  t.same(kernelImage(undefined), { target: 'bzImage', path: 'arch/x86/boot/bzImage' });
});

t.test('reserved-no-map: carved RAM as /reserved-memory no-map children, no usable-memory-range, no piece limit', async (t) => {
  const { plan, problems } = planDtb(mm('256M!2G', '256M!3G'), 4 * G, 'reserved-no-map');
  t.same(problems, [], 'three RAM pieces are fine: the kernel keeps all RAM and skips the no-map parts');
  t.same(plan.usable, []);
  t.same(plan.reserved, [{ start: 2 * G, end: 2 * G + 256 * M }, { start: 3 * G, end: 3 * G + 256 * M }]);
  const dts = dtsEdits(plan);
  t.notMatch(dts, /usable-memory-range/);
  t.match(dts, /\treserved-memory \{\n\t\t#address-cells = <0x2>;\n\t\t#size-cells = <0x2>;\n\t\tranges;\n\n\t\tpmem-carve@80000000 \{\n\t\t\treg = <0x0 0x80000000 0x0 0x10000000>;\n\t\t\tno-map;\n\t\t\};/);
  t.equal(dts.match(/no-map;/g)?.length, 2);
  t.equal(dts.match(/compatible = "pmem-region"/g)?.length, 2, 'the pmem-region nodes are the same');
  t.same(planDtb(mm('1G!8G'), 4 * G, 'reserved-no-map').plan.reserved, [], 'nothing outside RAM to reserve');
});
