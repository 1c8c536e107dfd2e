import t from 'tap';
import { cpuInfoHasVirt, decideAccel } from '../../harness/vm/kvm-probe.js';

const usable = { devKvmUsable: true, cpuHasVirt: true };

t.test('tcg requested: always TCG, no test boot, whatever the facts', async (t) => {
  for (const facts of [usable, { devKvmUsable: false, cpuHasVirt: false }, { ...usable, testBoot: { ok: true, detail: 'x' } }]) {
    const d = decideAccel('tcg', facts);
    t.same(d, { accel: 'tcg', reason: 'TCG requested by the scenario', needsTestBoot: false });
  }
});

for (const requested of ['auto', 'kvm'] as const) {
  t.test(`${requested}: /dev/kvm unusable -> TCG`, async (t) => {
    const d = decideAccel(requested, { devKvmUsable: false, cpuHasVirt: true });
    t.equal(d.accel, 'tcg');
    t.equal(d.needsTestBoot, false);
    t.match(d.reason, /\/dev\/kvm missing or not accessible/);
  });

  t.test(`${requested}: no vmx/svm -> TCG`, async (t) => {
    const d = decideAccel(requested, { devKvmUsable: true, cpuHasVirt: false });
    t.equal(d.accel, 'tcg');
    t.equal(d.needsTestBoot, false);
    t.match(d.reason, /no vmx\/svm/);
  });

  t.test(`${requested}: looks usable, no test boot yet -> KVM pending a test boot`, async (t) => {
    const d = decideAccel(requested, usable);
    t.equal(d.accel, 'kvm');
    t.equal(d.needsTestBoot, true);
    t.match(d.reason, /test boot pending/);
  });

  t.test(`${requested}: test boot failed -> TCG with the detail`, async (t) => {
    const d = decideAccel(requested, { ...usable, testBoot: { ok: false, detail: 'no kernel output within 15s' } });
    t.equal(d.accel, 'tcg');
    t.equal(d.needsTestBoot, false);
    t.match(d.reason, /KVM test boot failed \(no kernel output within 15s\)/);
  });

  t.test(`${requested}: test boot passed -> KVM`, async (t) => {
    const d = decideAccel(requested, { ...usable, testBoot: { ok: true, detail: 'kernel printed its banner after 300ms' } });
    t.same(d, { accel: 'kvm', reason: 'KVM test boot passed (kernel printed its banner after 300ms)', needsTestBoot: false });
  });
}

t.test('/dev/kvm is checked before the CPU flags', async (t) => {
  t.match(decideAccel('auto', { devKvmUsable: false, cpuHasVirt: false }).reason, /\/dev\/kvm/);
});

t.test('cpuInfoHasVirt', async (t) => {
  const intel = `processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr vmx smx est tm2 ssse3\nbugs\t\t: spectre_v1\n`;
  const amd = `processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu vme de pse tsc msr pae svm extapic cr8_legacy\n`;
  const none = `processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vme de pse tsc msr pae hypervisor\n`;
  const vmxFlagsOnly = `processor\t: 0\nflags\t\t: fpu vme\nvmx flags\t: vnmi preemption_timer invvpid ept_x_only\n`;
  const lookalike = `processor\t: 0\nflags\t\t: fpu vmxe svmx nosvm_thing\n`;
  const lastFlag = `flags\t\t: fpu svm`;
  t.equal(cpuInfoHasVirt(intel), true, 'vmx');
  t.equal(cpuInfoHasVirt(amd), true, 'svm');
  t.equal(cpuInfoHasVirt(lastFlag), true, 'flag at the end of the line');
  t.equal(cpuInfoHasVirt(none), false, 'no flag');
  t.equal(cpuInfoHasVirt(vmxFlagsOnly), false, "the 'vmx flags' line is not the flags line");
  t.equal(cpuInfoHasVirt(lookalike), false, 'whole words only');
  t.equal(cpuInfoHasVirt(''), false, 'empty (no /proc/cpuinfo)');
  t.equal(cpuInfoHasVirt('model name\t: Intel vmx-capable\n'), false, 'vmx outside the flags line');
});
