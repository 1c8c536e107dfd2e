// The boot retry rule: an early int3 under multi-threaded TCG is an emulator
// flake (error, infrastructure); every other failure with kernel output is the
// kernel's (fail); a failure that repeats is never retried away.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { classifyBootFailure, decideRetry, type BootFailureFacts } from '../../harness/runner/boot-policy.js';
import { findFindings } from '../../harness/triage/findings.js';

const int3Console = [
  '[    1.312345] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI',
  '[    1.312400] CPU: 1 UID: 0 PID: 1 Comm: swapper/0 Not tainted 7.2.13+deb14-amd64 #1 Debian 7.2.13-1',
  '[    1.312500] RIP: 0010:__x86_indirect_thunk_array+0x1/0x20',
  '[    1.320000] Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b',
];
const int3 = findFindings(int3Console);
const base: BootFailureFacts = { status: 'fail', reason: 'kernel panic during boot (stage reached: kernel started): Oops: int3', findings: int3, initStarted: false, accel: 'tcg', tcgThread: 'multi' };

t.test('the int3 finding is what the rule looks for', async (t) => {
  t.match(int3[0]?.title, /Oops: int3/);
});

t.test('the real capture (MTTCG, Debian 7.2.13) is classified as the emulator flake', async (t) => {
  const real = readFileSync(new URL('../fixtures/consoles/tcg-mttcg-int3-early-boot.log', import.meta.url), 'utf8').split(/\r?\n/);
  const c = classifyBootFailure({ ...base, findings: findFindings(real), reason: 'kernel panic during boot (stage reached: kernel started): oops: Oops: int3' });
  t.equal(c.kind, 'emulator-flake');
  t.equal(c.status, 'error');
});

t.test('classification', async (t) => {
  const flake = classifyBootFailure(base);
  t.equal(flake.kind, 'emulator-flake');
  t.equal(flake.status, 'error', 'infrastructure, not the kernel');
  t.match(flake.reason, /^emulator flake, not the kernel: early-boot Oops: int3 under multi-threaded TCG .*docs\/robustness\.md\) — kernel panic during boot/);
  t.equal(classifyBootFailure({ ...base, tcgThread: 'single' }).kind, 'kernel', 'with single-threaded TCG an int3 is the kernel\'s');
  t.equal(classifyBootFailure({ ...base, accel: 'kvm' }).kind, 'kernel', 'under KVM too');
  t.equal(classifyBootFailure({ ...base, initStarted: true }).kind, 'kernel', 'after init started it is not the early-boot flake');
  const panic = findFindings(['[    2.0] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)']);
  t.same(classifyBootFailure({ ...base, findings: panic }).kind, 'kernel');
  t.same(classifyBootFailure({ ...base, status: 'error', findings: [], reason: 'QEMU exited (1) during boot after 0.1s: could not open kernel' }).kind, 'infra');
});

t.test('retries: a flake is retried; a failure that repeats ends as fail', async (t) => {
  const flake = classifyBootFailure(base);
  t.same(decideRetry([], flake, 1), { retry: true }, 'first int3: boot again');
  const again = decideRetry([flake], flake, 1);
  t.equal(again.retry, false);
  if (!again.retry) {
    t.equal(again.status, 'fail', 'an int3 on every attempt is the kernel: fail, not error');
    t.match(again.reason, /the same failure on attempts 1 and 2: a failure that repeats is the kernel's, not retried further/);
    t.notMatch(again.reason, /emulator flake/);
  }
  const kernel = classifyBootFailure({ ...base, findings: findFindings(['[ 1.0] BUG: kernel NULL pointer dereference, address: 0000000000000008']) });
  t.same(decideRetry([], kernel, 3), { retry: true });
  const stop = decideRetry([kernel], kernel, 3);
  t.match(stop, { retry: false, status: 'fail' }, 'a repeated kernel failure stops the retries even with retries left: no third boot to luck into a pass');
  t.match(decideRetry([kernel], flake, 3), { retry: true }, 'a different failure may be retried');
  t.match(decideRetry([], flake, 0), { retry: false, status: 'error' }, 'retries: 0 — the flake is reported as error');
  t.match(decideRetry([], kernel, 0), { retry: false, status: 'fail' });
  const infra = classifyBootFailure({ ...base, status: 'error', findings: [], reason: 'QEMU exited (1) during boot after 0.1s' });
  t.match(decideRetry([infra], infra, 2), { retry: true }, 'host trouble may be retried while retries last');
  t.match(decideRetry([infra, infra], infra, 2), { retry: false, status: 'error' });
});
