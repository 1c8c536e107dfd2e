import { command } from '../common/shell-quote.js';
import { charDevice } from './device.js';
import { holdScript, parseHold } from './holder.js';
import { asArray } from './ndctl.js';
import { impossibleSizes } from './bind.js';
import {
  boundProblems,
  DRIVER_NAMES,
  identities,
  labelLessProblems,
  leftovers,
  namespaceChanges,
  namespacesOf,
  parseSnapshot,
  PLATFORM_DEV,
  PROVIDERS,
  SNAPSHOT_COMMAND,
  type NamespaceIdentity,
  type NdSnapshot,
} from './nd-sysfs.js';
import type { BindParams, UnbindParams } from './ramdax-params.js';
import { StepFailure, StepSkip, type StepRecorder } from './recorder.js';
import type { StepContext } from './types.js';

/** Per-case memory of the namespaces an unbind took away, to check that the rebind brings them back. */
export const MEMO_UNBOUND = 'ramdax:unbound-namespaces';

export async function snapshot(r: StepRecorder, label = 'snapshot'): Promise<NdSnapshot> {
  const out = await r.sh(SNAPSHOT_COMMAND);
  try {
    return parseSnapshot(out.stdout);
  } catch {
    throw new StepFailure(`${label}: ndctl list printed something that is not JSON: ${out.stdout.slice(out.stdout.indexOf('--- ndctl'), 300)}`);
  }
}

export function fail(what: string, problems: string[], details?: Record<string, unknown>): never {
  throw new StepFailure(`${what}: ${problems[0]}${problems.length > 1 ? ` (+${problems.length - 1} more: ${problems.slice(1, 4).join('; ')})` : ''}`, { problems, ...details });
}

/** The e820 platform driver's sysfs folder: nd_e820 as a module, e820_pmem built in. */
export const E820_DRIVER_DIR = '$(ls -d /sys/bus/platform/drivers/nd_e820 /sys/bus/platform/drivers/e820_pmem 2>/dev/null | head -n1)';

/** The namespaces the caller expects after a bind, from an earlier unbind in this case (ramdax only). */
function expectedNamespaces(ctx: StepContext, driver: BindParams['driver']): NamespaceIdentity[] | undefined {
  return driver === 'ramdax' ? (ctx.memo?.get(MEMO_UNBOUND) as NamespaceIdentity[] | undefined) : undefined;
}

/** After a rebind, names may change (pmem1 instead of pmem0): point the case's named namespaces at the new devices by uuid. */
export function refreshNamespaces(ctx: StepContext, s: NdSnapshot): void {
  const bus = s.ndctl.find((b) => b.provider === PROVIDERS.ramdax);
  if (!bus) return;
  const byUuid = new Map(namespacesOf(bus).map((n) => [n.uuid, n]));
  for (const [name, info] of ctx.namespaces) {
    const n = info.uuid ? byUuid.get(info.uuid) : undefined;
    if (n) ctx.namespaces.set(name, { ...info, dev: n.dev, blockdev: n.blockdev, chardev: n.chardev ?? n.daxregion?.devices?.[0]?.chardev });
  }
}

/**
 * Bind e820_pmem to the driver: load the modules (when modular), write
 * driver_override, unbind whoever holds it (checking that it left nothing
 * behind: a switch between nd_e820 and ramdax), bind, and check the result.
 */
export async function bindAction(ctx: StepContext, r: StepRecorder, p: BindParams): Promise<void> {
  const driver = p.driver;
  if (driver === 'ramdax' && ctx.kernel.ramdax === 'absent') {
    throw new StepSkip(`kernel ${ctx.kernel.release} has no ramdax driver (CONFIG_RAMDAX not set)`, true);
  }
  const present = await r.sh(`test -e ${PLATFORM_DEV}`, { allowFail: true });
  r.check(present.exitCode === 0, `no ${PLATFORM_DEV}: the kernel made no legacy PMEM range (is there a memmap=SIZE!START on the command line, inside guest RAM?)`);
  await r.sh(command('modprobe', '-a', '-q', driver, 'nd_pmem', 'dax_pmem', 'device_dax', 'nd_btt'), { allowFail: true });
  const before = await snapshot(r, 'before the bind');
  const want = DRIVER_NAMES[driver];
  if (before.holder && !want.includes(before.holder)) {
    // A switch: the other driver's bus must go away completely first.
    await r.sh(`echo e820_pmem > /sys/bus/platform/drivers/${before.holder}/unbind`);
    const between = await snapshot(r, `after unbinding ${before.holder}`);
    const left = leftovers(between, before);
    r.details.switchedFrom = before.holder;
    if (left.length) fail(`unbinding ${before.holder} left something behind`, left);
  }
  await r.sh(`echo ${command(driver === 'nd_e820' ? '' : 'ramdax')} > ${PLATFORM_DEV}/driver_override`);
  const holder = (await r.sh(`basename "$(readlink ${PLATFORM_DEV}/driver 2>/dev/null)"`, { allowFail: true })).stdout.trim();
  if (!want.includes(holder)) {
    const target = driver === 'ramdax' ? '/sys/bus/platform/drivers/ramdax' : E820_DRIVER_DIR;
    await r.sh(`echo e820_pmem > ${target}/bind`);
  }
  const after = await snapshot(r, 'after the bind');
  const bus = after.ndctl.find((b) => b.provider === PROVIDERS[driver]);
  r.details.buses = after.ndctl.map((b) => b.provider);
  if (bus) {
    r.details.dimms = asArray(bus.dimms).length;
    r.details.regions = asArray(bus.regions).map((x) => ({ dev: x.dev, size: x.size, align: x.align, available: x.available_size }));
    r.details.namespaces = identities(after, driver);
    // Sizes must make sense: a label area larger than its range underflows into huge mapping lengths.
    for (const reg of asArray(bus.regions)) {
      const why = impossibleSizes(reg);
      r.check(why === undefined, why!);
    }
  }
  const back = expectedNamespaces(ctx, driver);
  const problems = boundProblems(after, {
    driver,
    dimms: p.expect.dimms ?? (driver === 'ramdax' ? ctx.carveOuts.length : 0),
    regions: p.expect.regions ?? ctx.carveOuts.length,
    namespaces: p.expect.namespaces ?? back?.length,
  });
  if (driver === 'nd_e820' && bus) problems.push(...labelLessProblems(after));
  if (back && p.expect.namespaces === undefined) problems.push(...namespaceChanges(back, identities(after, driver)));
  if (problems.length) fail(`after binding ${driver}`, problems);
  if (back) ctx.memo?.delete(MEMO_UNBOUND);
  if (driver === 'ramdax') refreshNamespaces(ctx, after);
}

const HOLD_FILES = { ready: '/tmp/harness-hold.ready', go: '/tmp/harness-hold.go', report: '/tmp/harness-hold.report', rc: '/tmp/harness-hold.rc', log: '/tmp/harness-hold.log' };
const UNBIND_RC = '/tmp/harness-unbind.rc';

/**
 * Take e820_pmem away from its driver and check that nothing is left: no
 * device below it in sysfs, no bus in ndctl, no /dev node, no mount (but
 * the expected orphans). With `hold`, a process maps a devdax device or a
 * DAX file first; the unbind then runs in the background and must complete
 * (or wait, as expected) while the mapping is held, and the holder's next
 * access must end as expected (SIGBUS, or intact).
 */
export async function unbindAction(ctx: StepContext, r: StepRecorder, p: UnbindParams): Promise<void> {
  if (ctx.kernel.ramdax === 'absent') throw new StepSkip(`kernel ${ctx.kernel.release} has no ramdax driver (CONFIG_RAMDAX not set)`, true);
  const before = await snapshot(r, 'before the unbind');
  r.check(before.holder !== '', 'e820_pmem is not bound to any driver: nothing to unbind (bind it with a ramdax step first)');
  const holder = before.holder;
  const unbind = `echo e820_pmem > /sys/bus/platform/drivers/${holder}/unbind`;
  r.details.namespaces = identities(before, holder === 'ramdax' ? 'ramdax' : 'nd_e820');
  if (!p.hold) {
    const u = await startUnbind(r, unbind, UNBIND_WAIT_MS);
    if (!u.done) await hung(r, `the unbind did not return within ${UNBIND_WAIT_MS / 1000} s`);
    r.check(u.exit === 0, `the unbind failed (exit ${u.exit})`);
    r.details.unbindMs = u.ms;
  } else {
    await holdAndUnbind(ctx, r, p, unbind);
  }
  const after = await snapshot(r, 'after the unbind');
  const left = leftovers(after, before, { orphanMounts: p.expect.orphanMounts });
  if (left.length) fail('unbind left something behind', left);
  if (holder === 'ramdax') ctx.memo?.set(MEMO_UNBOUND, identities(before, 'ramdax'));
}

/** How long a plain unbind may take before it counts as hung. */
const UNBIND_WAIT_MS = 60_000;

/**
 * Start the unbind in the background and wait up to `waitMs` for it: an
 * unbind the kernel blocks ends the wait, not the step (the write to sysfs
 * cannot be interrupted).
 */
async function startUnbind(r: StepRecorder, unbind: string, waitMs: number): Promise<{ done: boolean; exit?: number; ms: number }> {
  await r.sh(`rm -f ${UNBIND_RC}`);
  const out = await r.sh(`( ${unbind}; echo $? > ${UNBIND_RC} ) > /dev/null 2>&1 < /dev/null & ${waitFor(UNBIND_RC, waitMs)}`);
  return parseWait(out.stdout);
}

/** Wait for the background unbind's status file (up to `waitMs` more). */
async function awaitUnbind(r: StepRecorder, waitMs: number): Promise<{ done: boolean; exit?: number; ms: number }> {
  return parseWait((await r.sh(waitFor(UNBIND_RC, waitMs))).stdout);
}

const waitFor = (file: string, waitMs: number) =>
  `i=0; while [ ! -e ${file} ] && [ $i -lt ${Math.max(1, Math.round(waitMs / 100))} ]; do sleep 0.1; i=$((i+1)); done; [ -e ${file} ] && echo "done $(cat ${file}) $i" || echo "waiting $i"`;

function parseWait(text: string): { done: boolean; exit?: number; ms: number } {
  const [state, a, b] = text.trim().split(/\s+/);
  return state === 'done' ? { done: true, exit: Number(a), ms: Number(b) * 100 } : { done: false, ms: Number(a) * 100 };
}

/** A hung unbind: have the kernel print where every blocked task waits (sysrq w), then fail; the stacks land in the step's kernel log. */
async function hung(r: StepRecorder, what: string): Promise<never> {
  await r.sh('echo 1 > /proc/sys/kernel/sysrq; echo w > /proc/sysrq-trigger', { allowFail: true });
  throw new StepFailure(`${what}: blocked in the kernel (sysrq w: the blocked tasks' stacks are in the step's kernel log)`);
}

async function holdAndUnbind(ctx: StepContext, r: StepRecorder, p: UnbindParams, unbind: string): Promise<void> {
  const h = p.hold!;
  const path = h.device ? charDevice(ctx, h.device) : h.file!;
  const f = HOLD_FILES;
  await r.sh(`rm -f ${f.ready} ${f.go} ${f.report} ${f.rc}`);
  await r.sh(holdScript(path, h.length, f));
  const ready = await r.sh(`i=0; while [ ! -e ${f.ready} ] && [ -e /proc/$(cat ${f.log}.pid) ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; cat ${f.ready} 2>/dev/null; echo; cat ${f.log}`, { allowFail: true });
  r.check(/^\d+$/m.test(ready.stdout.split('\n')[0] ?? ''), `the holder could not map ${path}: ${ready.stdout.trim().split('\n').slice(-3).join(' ')}`);
  // The unbind runs in the background: if the kernel waits for the mapping, the step still ends.
  const u = await startUnbind(r, unbind, h.wait);
  r.details.unbindWhileHeld = u.done ? { completed: true, ms: u.ms, exit: u.exit } : { completed: false, waitedMs: h.wait };
  if (u.done) r.check(u.exit === 0, `the unbind failed (exit ${u.exit}) while ${path} was mapped`);
  // Let the holder touch its mapping, then see how it ended.
  const end = await r.sh(`touch ${f.go}; ${waitFor(f.rc, 30_000)} > /dev/null; echo "rc $(cat ${f.rc} 2>/dev/null)"; cat ${f.report} 2>/dev/null; echo '--- log'; cat ${f.log}`);
  const hold = parseHold(end.stdout);
  r.details.holder = hold;
  if (!u.done) {
    // The holder touched its mapping and exited (or hangs): the unbind must finish now.
    const late = await awaitUnbind(r, UNBIND_WAIT_MS);
    r.details.unbindAfterRelease = late.done ? { completed: true, ms: late.ms, exit: late.exit } : { completed: false };
    if (!late.done) await hung(r, `the unbind still had not finished ${UNBIND_WAIT_MS / 1000} s after the holder of ${path} was let go (holder: ${hold.outcome})`);
    r.check(p.expect.unbind === 'waits', `the unbind did not complete within ${h.wait / 1000} s while ${path} was mapped (it finished after the holder exited; expect.unbind: waits says that is what this kernel does)`);
  } else {
    r.check(p.expect.unbind === 'completes', `expected the unbind to wait while ${path} was mapped, but it completed in ${u.ms} ms`);
  }
  if (p.expect.holder) r.check(hold.outcome === p.expect.holder, `the holder of ${path} saw '${hold.outcome}' after the unbind, expected '${p.expect.holder}'`, { holder: hold });
}
