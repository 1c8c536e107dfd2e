import t from 'tap';
import { baseCmdline, diskArgs, escapeOpt, isConsoleChardev, qemuArgv, type VmSpec } from '../../harness/vm/qemu-args.js';

const G = 1024 ** 3;

function spec(over: Partial<VmSpec> = {}): VmSpec {
  return {
    binary: 'qemu-system-x86_64',
    machine: 'pc',
    accel: 'tcg',
    cpus: 2,
    memoryBytes: 4 * G,
    kernel: '/cache/kernels/debian-7.2/vmlinuz',
    initrd: '/cache/kernels/debian-7.2/initrd.img',
    cmdline: 'console=ttyS0,115200 root=/dev/vda memmap=1G!4G',
    disks: [
      { path: '/cache/images/default/rootfs.img', format: 'raw', snapshot: true },
      { path: '/cache/kernels/debian-7.2/modules.img', format: 'raw', readonly: true },
    ],
    sshPort: 42022,
    qmpSocket: '/results/run/case/qmp.sock',
    noReboot: true,
    ...over,
  };
}

/** Values of every occurrence of `flag`. */
function values(argv: string[], flag: string): string[] {
  const out: string[] = [];
  argv.forEach((a, i) => {
    if (a === flag && i + 1 < argv.length) out.push(argv[i + 1]!);
  });
  return out;
}

const one = (argv: string[], flag: string): string | undefined => {
  const v = values(argv, flag);
  return v.length === 1 ? v[0] : undefined;
};

t.test('SSH is forwarded from 127.0.0.1 only', async (t) => {
  const argv = qemuArgv(spec());
  const netdev = one(argv, '-netdev');
  t.equal(netdev, 'user,id=net0,hostfwd=tcp:127.0.0.1:42022-:22,restrict=on', 'closed by default: restrict=on');
  t.equal(one(qemuArgv(spec({ network: 'open' })), '-netdev'), 'user,id=net0,hostfwd=tcp:127.0.0.1:42022-:22', 'open: no restrict');
  for (const v of values(argv, '-netdev')) {
    const fwds = v.split(',').filter((o) => o.startsWith('hostfwd='));
    t.ok(fwds.length > 0);
    for (const f of fwds) t.match(f, /^hostfwd=tcp:127\.0\.0\.1:\d+-:22$/, `${f} binds loopback only`);
  }
  t.notOk(argv.some((a) => /hostfwd=tcp::|hostfwd=tcp:0\.0\.0\.0/.test(a)), 'no wildcard bind');
  t.same(values(argv, '-device').filter((d) => d.startsWith('virtio-net')), ['virtio-net-pci,netdev=net0']);
});

t.test('root disk is snapshot=on, modules disk readonly=on', async (t) => {
  const drives = values(qemuArgv(spec()), '-drive');
  t.equal(drives.length, 2);
  t.equal(drives[0], 'file=/cache/images/default/rootfs.img,format=raw,if=virtio,snapshot=on');
  t.equal(drives[1], 'file=/cache/kernels/debian-7.2/modules.img,format=raw,if=virtio,readonly=on');
  t.notMatch(drives[0], /readonly/, 'root disk is writable (through the snapshot overlay)');
  t.notMatch(drives[1], /snapshot/, 'modules disk needs no overlay');
});

t.test('commas in paths are doubled', async (t) => {
  const argv = qemuArgv(
    spec({
      disks: [{ path: '/tmp/a,b/root,fs.img', format: 'qcow2', snapshot: true }],
      qmpSocket: '/tmp/x,y/qmp.sock',
    }),
  );
  t.same(values(argv, '-drive'), ['file=/tmp/a,,b/root,,fs.img,format=qcow2,if=virtio,snapshot=on']);
  t.equal(one(argv, '-qmp'), 'unix:/tmp/x,,y/qmp.sock,server=on,wait=off');
  t.equal(escapeOpt('a,b,,c'), 'a,,b,,,,c');
  t.equal(escapeOpt('no-commas'), 'no-commas');
  t.same(diskArgs([{ path: ',', format: 'raw' }]), ['-drive', 'file=,,,format=raw,if=virtio']);
});

t.test('-no-reboot only when noReboot', async (t) => {
  t.ok(qemuArgv(spec({ noReboot: true })).includes('-no-reboot'));
  t.notOk(qemuArgv(spec({ noReboot: false })).includes('-no-reboot'));
});

t.test('tcg: -accel tcg,thread=multi and -cpu max', async (t) => {
  const argv = qemuArgv(spec({ accel: 'tcg' }));
  t.equal(one(argv, '-accel'), 'tcg,thread=multi');
  t.equal(one(argv, '-cpu'), 'max');
});

t.test('icount: single-threaded TCG with -icount shift=N; absent otherwise', async (t) => {
  const argv = qemuArgv(spec({ accel: 'tcg', icount: 3 }));
  t.equal(one(argv, '-accel'), 'tcg,thread=single', 'QEMU counts instructions only without MTTCG');
  t.equal(one(argv, '-icount'), 'shift=3');
  t.equal(one(argv, '-cpu'), 'max');
  t.equal(one(qemuArgv(spec({ accel: 'tcg', icount: 0 })), '-icount'), 'shift=0', 'shift 0 is a value, not "off"');
  t.notOk(qemuArgv(spec({ accel: 'tcg' })).includes('-icount'));
  t.notOk(qemuArgv(spec({ accel: 'kvm', icount: 3 })).includes('-icount'), 'never with KVM');
});

t.test('kvm: -accel kvm and -cpu host', async (t) => {
  const argv = qemuArgv(spec({ accel: 'kvm' }));
  t.equal(one(argv, '-accel'), 'kvm');
  t.equal(one(argv, '-cpu'), 'host');
});

t.test('machine, smp, memory, kernel, initrd, append', async (t) => {
  const argv = qemuArgv(spec({ machine: 'q35', cpus: 4, memoryBytes: 3 * G }));
  t.equal(one(argv, '-machine'), 'q35');
  t.equal(one(argv, '-smp'), '4');
  t.equal(one(argv, '-m'), '3072M');
  t.equal(one(argv, '-kernel'), '/cache/kernels/debian-7.2/vmlinuz');
  t.equal(one(argv, '-initrd'), '/cache/kernels/debian-7.2/initrd.img');
  t.equal(one(argv, '-append'), 'console=ttyS0,115200 root=/dev/vda memmap=1G!4G', 'cmdline passed verbatim (it is not an option string)');
  t.notOk(qemuArgv(spec({ initrd: undefined })).includes('-initrd'), 'no -initrd without an initrd');
});

t.test('isolation and console', async (t) => {
  const argv = qemuArgv(spec());
  for (const a of ['-nodefaults', '-no-user-config']) t.ok(argv.includes(a), a);
  t.equal(one(argv, '-display'), 'none');
  t.equal(one(argv, '-serial'), 'chardev:con0');
  t.equal(one(argv, '-chardev'), 'stdio,id=con0,signal=off');
  t.notOk(argv.includes(spec().binary), 'the binary itself is not part of argv');
  t.ok(argv.every((a) => typeof a === 'string' && a.length > 0), 'no empty arguments');
});

t.test('baseCmdline', async (t) => {
  const withReboot = baseCmdline({ initrd: true, noReboot: false });
  const noReboot = baseCmdline({ initrd: true, noReboot: true });
  t.ok(noReboot.includes('panic=-1'), 'a panic reboots at once, which -no-reboot turns into QEMU exiting');
  t.notOk(noReboot.includes('panic=0'));
  t.notOk(withReboot.includes('panic=-1'));
  for (const c of [withReboot, noReboot]) {
    t.ok(c.includes('console=ttyS0,115200'));
    t.ok(c.includes('root=/dev/vda'));
    t.ok(c.includes('init=/sbin/harness-init'));
    t.notOk(c.some((a) => /\s/.test(a)), 'one token per argument');
    t.notOk(c.some((a) => a.startsWith('memmap=')), 'carve-outs come from the scenario only');
  }
});

t.test('RAM in a host file: memory-backend-file, share=on, tied to the machine', async (t) => {
  const argv = qemuArgv(spec({ memoryFile: '/dev/shm/ramdax-machine-x/ram' }));
  t.same(values(argv, '-object'), [`memory-backend-file,id=ram0,size=${4 * G},mem-path=/dev/shm/ramdax-machine-x/ram,share=on`]);
  t.same(values(argv, '-machine'), [`pc,memory-backend=ram0`]);
  t.same(values(argv, '-m'), values(qemuArgv(spec()), '-m'), '-m stays: QEMU checks it matches the backend size');
  t.same(values(qemuArgv(spec()), '-object'), [], 'no backend object without a RAM file');
});

t.test('numa: one node with all CPUs and RAM (a RAM backend, or the RAM file)', async (t) => {
  const ram = qemuArgv(spec({ numa: true }));
  t.same(values(ram, '-object'), [`memory-backend-ram,id=ram0,size=${4 * G}`]);
  t.same(values(ram, '-numa'), ['node,nodeid=0,cpus=0-1,memdev=ram0']);
  t.same(values(ram, '-machine'), ['pc'], 'the node owns the backend, not the machine');
  const file = qemuArgv(spec({ numa: true, memoryFile: '/dev/shm/m/ram' }));
  t.same(values(file, '-object'), [`memory-backend-file,id=ram0,size=${4 * G},mem-path=/dev/shm/m/ram,share=on`]);
  t.same(values(file, '-numa'), ['node,nodeid=0,cpus=0-1,memdev=ram0']);
});

t.test('with a console log, QEMU appends the console to that file itself', async (t) => {
  const argv = qemuArgv(spec({ consoleLog: '/results/run/case,1/console.log' }));
  t.equal(one(argv, '-chardev'), 'file,id=con0,path=/results/run/case,,1/console.log,append=on', 'commas in the path are doubled');
  t.equal(one(argv, '-serial'), 'chardev:con0');
  t.ok(isConsoleChardev(one(argv, '-chardev')!), 'recognised as the console (for the reproducer and the raw floor)');
  t.ok(isConsoleChardev(one(qemuArgv(spec()), '-chardev')!), 'the stdio form too');
  t.notOk(isConsoleChardev('socket,id=mon0,path=/x'), 'not another chardev');
});

t.test('TCG thread mode and CPU model (for the int3 measurements)', async (t) => {
  t.same(values(qemuArgv(spec()), '-accel'), ['tcg,thread=multi'], 'multi-threaded TCG by default');
  t.same(values(qemuArgv(spec({ tcgThread: 'single' })), '-accel'), ['tcg,thread=single']);
  t.same(values(qemuArgv(spec({ icount: 3, tcgThread: 'multi' })), '-accel'), ['tcg,thread=single'], 'icount forces single-threaded TCG');
  t.equal(one(qemuArgv(spec({ cpuModel: 'qemu64' })), '-cpu'), 'qemu64');
});
