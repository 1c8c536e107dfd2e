import { access, constants, readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { cpuInfoHasVirt, decideAccel, foreignGuest, type AccelDecision, type KvmFacts } from './kvm-probe.js';
import { hostArch, serialConsole, type Arch } from '../common/arch.js';

const TEST_BOOT_MS = 15_000;

/**
 * Decide KVM or TCG for real: /dev/kvm, CPU flags, and — only when both look
 * fine — a short test boot with a hard deadline (a broken KVM hangs QEMU).
 * The answer is cached for the process.
 */
const cached = new Map<Arch, Promise<AccelDecision>>();

export function resolveAccel(kernel: string, qemu: string, arch: Arch = 'x86_64'): Promise<AccelDecision> {
  let d = cached.get(arch);
  if (!d) {
    d = probe(kernel, qemu, arch);
    cached.set(arch, d);
  }
  return d;
}

async function probe(kernel: string, qemu: string, arch: Arch): Promise<AccelDecision> {
  const foreign = foreignGuest(hostArch(), arch);
  if (foreign) return foreign;
  const facts: KvmFacts = {
    devKvmUsable: await access('/dev/kvm', constants.R_OK | constants.W_OK).then(() => true, () => false),
    // arm64 hosts list no virtualisation flag in /proc/cpuinfo: /dev/kvm and the test boot decide.
    cpuHasVirt: arch === 'arm64' || cpuInfoHasVirt(await readFile('/proc/cpuinfo', 'utf8').catch(() => '')),
  };
  const first = decideAccel('auto', facts);
  if (!first.needsTestBoot) return first;
  facts.testBoot = await kvmTestBoot(kernel, qemu, arch);
  return decideAccel('auto', facts);
}

async function kvmTestBoot(kernel: string, qemu: string, arch: Arch): Promise<{ ok: boolean; detail: string }> {
  const started = Date.now();
  const child = execa(
    qemu,
    [...(arch === 'arm64' ? ['-machine', 'virt,gic-version=host'] : []), '-accel', 'kvm', '-cpu', 'host', '-m', '256M', '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
      '-serial', 'stdio', '-kernel', kernel, '-append', `console=${serialConsole(arch)} panic=-1 root=/dev/nonexistent`],
    { stdin: 'ignore', buffer: false, reject: false, timeout: TEST_BOOT_MS, forceKillAfterDelay: 2000 },
  );
  let seen = false;
  child.stdout?.on('data', (d: Buffer) => {
    if (!seen && /Linux version/.test(d.toString())) {
      seen = true;
      child.kill('SIGKILL');
    }
  });
  const r = await child;
  const ms = Date.now() - started;
  if (seen) return { ok: true, detail: `kernel printed its banner after ${ms}ms` };
  return { ok: false, detail: r.timedOut ? `no kernel output within ${TEST_BOOT_MS / 1000}s` : `QEMU ended (${r.exitCode ?? r.signal}) without kernel output` };
}
