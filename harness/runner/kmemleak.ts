import type { SshSession } from '../session/ssh.js';
import { kmemleakFindings } from '../triage/kmemleak.js';
import type { Emit } from './steps.js';

export const KMEMLEAK = '/sys/kernel/debug/kmemleak';

/**
 * kmemleak reports an object only once it is MSECS_MIN_AGE (5 s) old, so the
 * scan waits that long after the last step; it scans twice, as the kernel's
 * documentation advises (an object whose contents changed during the first
 * scan is only reported by the next), prints the report, and clears it so
 * the next case that shares the boot starts from nothing.
 */
export const KMEMLEAK_SCAN = `sleep 5; echo scan > ${KMEMLEAK} && echo scan > ${KMEMLEAK} && cat ${KMEMLEAK} && echo clear > ${KMEMLEAK}`;

/** Whether this guest's kernel has kmemleak (a debug kernel), asked once per machine. */
export async function hasKmemleak(session: SshSession): Promise<boolean> {
  try {
    return (await session.exec(`test -w ${KMEMLEAK}`, { timeoutMs: 10_000 })).exitCode === 0;
  } catch {
    return false;
  }
}

/**
 * The end-of-case leak scan on kernels with kmemleak: a point `kmemleak scan`
 * that fails with one finding per distinct leak, like a WARN does. Returns
 * false when it failed. Kernels without kmemleak get no point.
 */
export async function kmemleakPoint(session: SshSession, emit: Emit, timeoutMs: number): Promise<boolean> {
  const t0 = Date.now();
  let out;
  try {
    out = await session.exec(KMEMLEAK_SCAN, { timeoutMs });
  } catch (err) {
    await emit({ name: 'kmemleak scan', kind: 'leakcheck', status: 'error', reason: `kmemleak scan: ${(err as Error).message}`, durationMs: Date.now() - t0 });
    return false;
  }
  if (out.timedOut || out.exitCode !== 0) {
    // kmemleak turns itself off after an internal error (e.g. its object pool ran out): say so, do not pretend it is clean.
    const why = out.timedOut ? `no answer within ${Math.round(timeoutMs / 1000)} s` : (out.stderr.trim().split('\n').at(-1) ?? `exit ${out.exitCode}`);
    await emit({ name: 'kmemleak scan', kind: 'leakcheck', status: 'fail', reason: `kmemleak could not scan (${why}): kmemleak may have disabled itself, see dmesg`, durationMs: Date.now() - t0, commands: [out] });
    return false;
  }
  const findings = kmemleakFindings(out.stdout);
  const objects = (out.stdout.match(/^unreferenced object\b/gm) ?? []).length;
  await emit({
    name: 'kmemleak scan',
    kind: 'leakcheck',
    status: findings.length ? 'fail' : 'pass',
    reason: findings.length ? `kernel reported ${findings[0]!.title}${findings.length > 1 ? ` (+${findings.length - 1} more distinct leak(s))` : ''}` : undefined,
    durationMs: Date.now() - t0,
    findings: findings.length ? findings : undefined,
    details: { unreferencedObjects: objects, ...(objects ? { report: out.stdout.split('\n').slice(0, 200) } : {}) },
  });
  return findings.length === 0;
}
