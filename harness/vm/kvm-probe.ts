/** Deciding between KVM and TCG: pure decision + injected facts (unit-tested). */

export interface KvmFacts {
  /** /dev/kvm exists and can be opened read-write. */
  devKvmUsable: boolean;
  /** vmx or svm among the host CPU flags. */
  cpuHasVirt: boolean;
  /** Result of a short test boot with -accel kvm, when one was made. */
  testBoot?: { ok: boolean; detail: string };
}

export interface AccelDecision {
  accel: 'kvm' | 'tcg';
  /** One line for the log and the results. */
  reason: string;
  /** Whether a test boot is still needed to decide. */
  needsTestBoot: boolean;
}

export function decideAccel(requested: 'auto' | 'tcg' | 'kvm', f: KvmFacts): AccelDecision {
  if (requested === 'tcg') return { accel: 'tcg', reason: 'TCG requested by the scenario', needsTestBoot: false };
  if (!f.devKvmUsable) return { accel: 'tcg', reason: 'KVM unavailable (/dev/kvm missing or not accessible): using TCG software emulation', needsTestBoot: false };
  if (!f.cpuHasVirt) return { accel: 'tcg', reason: 'KVM unusable (host CPU offers no vmx/svm flag, /dev/kvm exists): using TCG software emulation', needsTestBoot: false };
  if (!f.testBoot) return { accel: 'kvm', reason: 'KVM looks usable; test boot pending', needsTestBoot: true };
  if (!f.testBoot.ok) return { accel: 'tcg', reason: `KVM test boot failed (${f.testBoot.detail}): using TCG software emulation`, needsTestBoot: false };
  return { accel: 'kvm', reason: `KVM test boot passed (${f.testBoot.detail})`, needsTestBoot: false };
}

export function cpuInfoHasVirt(cpuinfo: string): boolean {
  return /^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo);
}

/**
 * KVM runs guests of the host's own architecture only: an arm64 guest on an
 * x86_64 host (or any guest on a host the harness has no name for) is TCG,
 * whatever /dev/kvm says. undefined: same architecture, probe as usual.
 */
export function foreignGuest(host: string | undefined, guest: string): AccelDecision | undefined {
  if (host === guest) return undefined;
  return { accel: 'tcg', reason: `${guest} guest on ${host ?? 'an unknown'} host: TCG software emulation (KVM runs only guests of the host's architecture)`, needsTestBoot: false };
}
