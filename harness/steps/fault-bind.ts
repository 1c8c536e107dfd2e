import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../common/paths.js';
import { z } from 'zod';
import { quote } from '../common/shell-quote.js';
import { runBody, StepFailure, StepSkip } from './recorder.js';
import type { StepKind } from './types.js';

const Params = z
  .object({
    /** First fault-injection site (of the binding task) to fail. */
    first: z.number().int().min(1).max(100_000).default(1),
    /** Last one tried; the sweep ends earlier when a bind no longer reaches its Nth site. */
    last: z.number().int().min(1).max(100_000).default(400),
    /** Leave e820_pmem bound to ramdax (healthy) or unbound at the end. */
    end: z.enum(['bound', 'unbound']).default('bound'),
    /** Whether a bind that leaves a label-area mapping behind fails the step (a leak), or is recorded only. */
    leaks: z.enum(['fail', 'record']).default('fail'),
  })
  .strict()
  .refine((p) => p.first <= p.last, { message: 'first must not be after last' });
type Params = z.output<typeof Params>;

interface Attempt {
  n: number;
  injected: boolean;
  errno: number | null;
  error: string | null;
  driver: string | null;
  buses: string[];
  maps: string[];
  afterUnbind: { buses: string[]; maps: string[] };
}

/** The guest tool, shipped with the harness (python3 is in the guest image). */
let tool: string | undefined;
const TOOL = () => (tool ??= readFileSync(join(projectRoot, 'harness', 'steps', 'guest', 'fault-bind.py'), 'utf8'));

/** What one sweep found: binds that failed yet left something behind, or leaked a label-area mapping. */
export function judgeAttempts(base: { maps: string[]; buses: string[] }, attempts: Attempt[]): { leftovers: string[]; leaks: string[] } {
  const leftovers: string[] = [];
  const leaks: string[] = [];
  for (const a of attempts) {
    if (a.injected && a.errno !== null && a.buses.length) leftovers.push(`fault ${a.n}: the bind failed (${a.error}) but left ${a.buses.join(', ')}`);
    if (a.afterUnbind.buses.length) leftovers.push(`fault ${a.n}: ${a.afterUnbind.buses.join(', ')} still there after unbind`);
    const extra = a.afterUnbind.maps.filter((m) => !base.maps.includes(m));
    if (extra.length) leaks.push(`fault ${a.n}${a.errno !== null ? ` (bind failed: ${a.error})` : ''}: ${extra.length} label-area mapping(s) left in vmallocinfo`);
  }
  return { leftovers, leaks };
}

/**
 * fault-bind: bind e820_pmem to ramdax N times, the Nth allocation of the
 * binding task failing each time (failslab + fail_page_alloc through
 * /proc/thread-self/fail-nth; needs CONFIG_FAULT_INJECTION, FAILSLAB,
 * FAIL_PAGE_ALLOC, FAULT_INJECTION_DEBUG_FS: the coverage kernel's
 * fault-injection fragment). Every error path of the bind runs once; after
 * each, nothing of the bus may remain, and nothing may be left mapped (a
 * label area memremap'ed and never unmapped is a leak). The kernel log is
 * checked by the runner as for every step: a WARN or oops fails it.
 */
export const faultBindStep: StepKind<Params> = {
  kind: 'fault-bind',
  summary: 'bind e820_pmem to ramdax with the 1st, 2nd, … allocation of the bind failing (fail-nth), checking nothing is left behind after each',
  schema: Params as z.ZodType<Params, unknown>,
  title: (p) => `ramdax bind with allocation ${p.first}…${p.last} failing (fail-nth)`,
  run: (ctx, p) =>
    runBody(ctx, async (r) => {
      const probe = await r.sh('test -w /proc/thread-self/fail-nth && test -d /sys/kernel/debug/failslab && test -d /sys/bus/platform/drivers/ramdax && test -e /sys/bus/platform/devices/e820_pmem', { allowFail: true });
      if (probe.exitCode !== 0) throw new StepSkip('this kernel has no fail-nth/failslab (CONFIG_FAULT_INJECTION, FAILSLAB, FAULT_INJECTION_DEBUG_FS: use a --coverage kernel) or no ramdax/e820_pmem');
      const label = ctx.carveOuts.map((c) => `${(c.start + c.size - 128 * 1024).toString(16)}-${(c.start + c.size - 1).toString(16)}`);
      const out = await r.sh(`python3 - ${[p.first, p.last, p.end, ...label].map((x) => quote(String(x))).join(' ')}`, { stdin: TOOL() });
      const lines = out.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      const base = (lines.find((l) => 'baseline' in l)?.baseline ?? { maps: [], buses: [] }) as { maps: string[]; buses: string[] };
      const attempts = lines.filter((l) => 'n' in l) as unknown as Attempt[];
      const final = lines.find((l) => 'final' in l) as { final: string | null; errno: number | null } | undefined;
      const injected = attempts.filter((a) => a.injected);
      const failedBinds = injected.filter((a) => a.errno !== null);
      const { leftovers, leaks } = judgeAttempts(base, attempts);
      Object.assign(r.details, {
        attempts: attempts.length,
        injected: injected.length,
        failedBinds: failedBinds.length,
        errnos: [...new Set(failedBinds.map((a) => a.error))],
        /** Faults the bind survived (the allocation was optional or retried). */
        survived: injected.filter((a) => a.errno === null).map((a) => a.n),
        leftovers,
        leaks,
        final: final?.final ?? null,
      });
      const lastAttempt = attempts.at(-1);
      if (!lastAttempt) throw new StepFailure('the fault-bind tool printed no attempt');
      if (lastAttempt.injected) throw new StepFailure(`every bind up to fault ${p.last} reached the fault: raise last (the sweep did not reach a bind without a fault)`);
      if (lastAttempt.errno !== null) throw new StepFailure(`the bind without a fault failed: ${lastAttempt.error}`);
      if (leftovers.length) throw new StepFailure(`a failed bind left something behind: ${leftovers[0]}${leftovers.length > 1 ? ` (+${leftovers.length - 1} more)` : ''}`);
      if (leaks.length && p.leaks === 'fail') throw new StepFailure(`label-area mappings leaked: ${leaks[0]}${leaks.length > 1 ? ` (+${leaks.length - 1} more)` : ''}`);
      if (p.end === 'bound' && final?.final !== 'ramdax') throw new StepFailure(`the final healthy bind failed (driver: ${final?.final ?? 'none'})`);
    }),
};
