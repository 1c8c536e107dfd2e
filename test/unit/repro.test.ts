import t from 'tap';
import { interactiveArgv, reproScript, type ReproManifest } from '../../harness/results/repro.js';

const base: ReproManifest = {
  caseId: 'label-persistence[reboot=power-cycle]',
  runId: 'r1',
  scenarioFile: 'scenario.yaml',
  originalScenarioFile: 'scenarios/label-persistence.yaml',
  qemuArgv: ['qemu-system-x86_64', '-m', '4096M', '-drive', 'file=/cache/images/default-x/rootfs.img,format=raw,if=virtio,snapshot=on'],
  kernel: undefined,
  image: { name: 'default', sha256: 'ab', rootfs: '/cache/images/default-x/rootfs.img' },
  accel: { accel: 'tcg', reason: 'no kvm' },
  harness: { version: '0', node: 'v20' },
  sshKey: '/keys/id',
};

t.test('a RAM-file machine gets its overlay made again before QEMU starts', async (t) => {
  const argv = [...base.qemuArgv.slice(0, 3), '-drive', 'file=/dev/shm/ramdax-machine-AbC/root.qcow2,format=qcow2,if=virtio', '-object', 'memory-backend-file,id=ram0,size=4294967296,mem-path=/dev/shm/ramdax-machine-AbC/ram,share=on'];
  const sh = reproScript({ ...base, qemuArgv: argv }, '/r/repro');
  t.match(sh, "mkdir -p /dev/shm/ramdax-machine-AbC\n[ -e /dev/shm/ramdax-machine-AbC/root.qcow2 ] || qemu-img create -q -f qcow2 -b /cache/images/default-x/rootfs.img -F raw /dev/shm/ramdax-machine-AbC/root.qcow2\n");
  t.ok(sh.indexOf('qemu-img create') < sh.indexOf('exec '), 'before exec');
});

t.test('a snapshot machine needs nothing made', async (t) => {
  t.notMatch(reproScript(base, '/r/repro'), /qemu-img|mkdir/);
});

t.test("the reproducer puts the console on the terminal, whichever way the run recorded it", async (t) => {
  for (const chardev of ['file,id=con0,path=/results/r/case/console.log,append=on', 'stdio,id=con0,signal=off']) {
    const argv = interactiveArgv(['-chardev', chardev, '-serial', 'chardev:con0'], '@PORT@', '@QMP@');
    t.same(argv, ['-chardev', 'stdio,id=con0,mux=on,signal=off', '-serial', 'chardev:con0'], chardev);
  }
});
