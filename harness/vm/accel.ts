import { access, constants, readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { cpuInfoHasVirt, decideAccel, type AccelDecision, type KvmFacts } from './kvm-probe.js';

const TEST_BOOT_MS = 15_000;

/**
 * Decide KVM or TCG for real: /dev/kvm, CPU flags, and — only when both look
 * fine — a short test boot with a hard deadline (a broken KVM hangs QEMU).
 * The answer is cached for the process.
 */
let cached: Promise<AccelDecision> | undefined;

export function resolveAccel(kernel: string, qemu: string): Promise<AccelDecision> {
  cached ??= probe(kernel, qemu);
  return cached;
}

async function probe(kernel: string, qemu: string): Promise<AccelDecision> {
  const facts: KvmFacts = {
    devKvmUsable: await access('/dev/kvm', constants.R_OK | constants.W_OK).then(() => true, () => false),
    cpuHasVirt: cpuInfoHasVirt(await readFile('/proc/cpuinfo', 'utf8').catch(() => '')),
  };
  const first = decideAccel('auto', facts);
  if (!first.needsTestBoot) return first;
  facts.testBoot = await kvmTestBoot(kernel, qemu);
  return decideAccel('auto', facts);
}

async function kvmTestBoot(kernel: string, qemu: string): Promise<{ ok: boolean; detail: string }> {
  const started = Date.now();
  const child = execa(
    qemu,
    ['-accel', 'kvm', '-cpu', 'host', '-m', '256M', '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
      '-serial', 'stdio', '-kernel', kernel, '-append', 'console=ttyS0 panic=-1 root=/dev/nonexistent'],
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
