import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GcovRecord } from '../build/coverage-build.js';
import type { KernelArtifact } from '../setup/artifacts.js';
import type { CommandResult } from '../steps/types.js';

/**
 * Collecting gcov counters from the guest. They live in guest RAM and die
 * with it, so the runner calls collectCoverage before every power-off, warm
 * reboot, kexec and power cycle, and at the end of each case on a shared
 * boot. Each call saves one *segment* (the counters since boot or since the
 * last reset) and resets the counters, so a case's coverage is the sum of
 * its segments and never includes another case's.
 *
 * Segments are kept raw (the guest's .gcda files, tar + gzip) under
 * CASE/coverage/NN-LABEL.tar.gz; harness/coverage/report.ts turns them into
 * lcov data with the kernel's .gcno files at the end of the run.
 */

/** What the runner hands in: a way to run a guest command (the SSH session). */
export interface CoverageGuest {
  exec(command: string, opts: { timeoutMs: number }): Promise<CommandResult>;
  readonly closed?: string;
}

export const GCOV_ROOT = '/sys/kernel/debug/gcov';
const BEGIN = '--- ramdax-harness gcov begin ---';
const END = '--- ramdax-harness gcov end ---';

/**
 * Guest side: debugfs .gcda files report size 0, so tar cannot read them
 * directly (Documentation/dev-tools/gcov.rst): each is copied with cat into
 * a tmpfs folder first, then packed, base64-encoded (the SSH exec channel is
 * text) and framed; the counters are reset only after a complete copy.
 */
export function collectScript(reset: boolean): string {
  return [
    'set -e',
    `[ -d ${GCOV_ROOT} ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true`,
    `[ -d ${GCOV_ROOT} ] || { echo "no ${GCOV_ROOT}: the kernel has no CONFIG_GCOV_KERNEL" >&2; exit 3; }`,
    't=$(mktemp -d /dev/shm/gcov.XXXXXX 2>/dev/null || mktemp -d)',
    `cd ${GCOV_ROOT}`,
    'n=0',
    "for f in $(find . -name '*.gcda'); do mkdir -p \"$t/${f%/*}\"; cat \"$f\" > \"$t/$f\"; n=$((n+1)); done",
    `echo '${BEGIN}'`,
    'tar -C "$t" -czf - . | base64 -w0',
    'echo',
    `echo '${END}'`,
    'rm -rf "$t"',
    ...(reset ? [`echo 1 > ${GCOV_ROOT}/reset`] : []),
    'echo "gcda files: $n" >&2',
  ].join('\n');
}

/** The gzip'd tar between the frame lines, or an error saying why there is none. */
export function unframe(stdout: string): Buffer | Error {
  const b = stdout.indexOf(BEGIN);
  const e = stdout.indexOf(END, b + 1);
  if (b < 0 || e < 0) return new Error('the gcov archive was cut short (no end marker)');
  const body = stdout.slice(b + BEGIN.length, e).trim();
  if (!/^[A-Za-z0-9+/=]+$/.test(body)) return new Error('the gcov archive is not base64');
  return Buffer.from(body, 'base64');
}

/** Where a case's segments and its coverage status are kept. */
export const coverageDir = (caseDir: string) => join(caseDir, 'coverage');
const STATUS = 'status.json';

export interface SegmentRecord {
  file: string;
  label: string;
  at: string;
  bytes: number;
}

/** A case's coverage as collected: complete only when no segment was lost. */
export interface CaseCoverageStatus {
  /** The kernel the counters belong to and where its .gcno files are (from its build manifest). */
  kernel?: { name: string; vmlinuz?: string; gcov?: GcovRecord };
  segments: SegmentRecord[];
  /** Why counters were lost (a panic, a hang, a failed copy): the case's coverage is incomplete. */
  lost: string[];
}

export async function readCaseStatus(caseDir: string): Promise<CaseCoverageStatus | undefined> {
  try {
    return JSON.parse(await readFile(join(coverageDir(caseDir), STATUS), 'utf8')) as CaseCoverageStatus;
  } catch {
    return undefined;
  }
}

async function update(caseDir: string, f: (s: CaseCoverageStatus) => void): Promise<CaseCoverageStatus> {
  await mkdir(coverageDir(caseDir), { recursive: true });
  const s = (await readCaseStatus(caseDir)) ?? { segments: [], lost: [] };
  f(s);
  await writeFile(join(coverageDir(caseDir), STATUS), `${JSON.stringify(s, null, 2)}\n`);
  return s;
}

const slug = (label: string) => label.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'segment';

/**
 * Save the guest's counters as one segment of `caseDir` and reset them.
 * Never throws: a guest that cannot be asked (gone, hung, copy failed) makes
 * the case's coverage incomplete, with the reason recorded.
 */
export async function collectCoverage(guest: CoverageGuest, caseDir: string, label: string, kernel: KernelArtifact, opts: { timeoutMs?: number } = {}): Promise<void> {
  if (guest.closed) return markLost(caseDir, `${label}: the guest could not be asked (${guest.closed})`);
  let r: CommandResult;
  try {
    r = await guest.exec(collectScript(true), { timeoutMs: opts.timeoutMs ?? 60_000 });
  } catch (err) {
    return markLost(caseDir, `${label}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (r.exitCode !== 0) return markLost(caseDir, `${label}: collection exited ${r.exitCode ?? (r.timedOut ? 'by time-out' : r.signal)}: ${r.stderr.trim().split('\n').at(-1) ?? ''}`);
  const data = unframe(r.stdout);
  if (data instanceof Error) return markLost(caseDir, `${label}: ${data.message}`);
  const dir = coverageDir(caseDir);
  await mkdir(dir, { recursive: true });
  const n = (await readdir(dir)).filter((f) => f.endsWith('.tar.gz')).length + 1;
  const file = `${String(n).padStart(2, '0')}-${slug(label)}.tar.gz`;
  await writeFile(join(dir, file), data);
  await update(caseDir, (s) => {
    s.kernel ??= { name: kernel.name, vmlinuz: kernel.sha256.vmlinuz, gcov: gcovOf(kernel) };
    s.segments.push({ file, label, at: new Date().toISOString(), bytes: data.length });
  });
}

/** The .gcno record of a coverage build (undefined for any other kernel). */
export const gcovOf = (k: KernelArtifact): GcovRecord | undefined => (k as KernelArtifact & { build?: { gcov?: GcovRecord } }).build?.gcov;

/** The guest died (panic, hang) before its counters were copied: say so, never pass partial data as complete. */
export async function markLost(caseDir: string, reason: string): Promise<void> {
  await update(caseDir, (s) => s.lost.push(reason));
}

/** Reset the counters without saving them (a shared boot's next case starts from zero). */
export async function resetCoverage(guest: CoverageGuest): Promise<void> {
  await guest.exec(`echo 1 > ${GCOV_ROOT}/reset`, { timeoutMs: 10_000 }).catch(() => undefined);
}
