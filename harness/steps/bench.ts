import { z } from 'zod';
import { metric } from '../perf/metrics.js';
import { runBody, StepFailure } from './recorder.js';
import { withEnv } from './run.js';
import type { StepKind } from './types.js';

const GuestCommand = z.string().min(1).max(8192);

const Params = z
  .object({
    /** Names the metric `bench:<label>`. */
    label: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i, 'use letters, digits, ".", "_" and "-"').max(60),
    /** The guest shell command that is timed (in the guest, with its own clock). */
    command: GuestCommand,
    /** Untimed, before each timed run (e.g. make the thing to be mounted). */
    before: GuestCommand.optional(),
    /** Untimed, after each timed run (e.g. destroy what the command created). */
    after: GuestCommand.optional(),
    /** Samples; default: `run --repeat`, else the scenario's `repeats:`, else 3. */
    repeats: z.number().int().min(1).max(100).optional(),
  })
  .strict();
type Params = z.output<typeof Params>;

const MARK = 'harness-bench';

/**
 * The guest script for one timed run (pure): the command runs in a subshell
 * between two reads of the guest's monotonic clock; its output goes to a file
 * so only the marker line is parsed.
 */
export function benchScript(cmd: string): string {
  return [
    `__n0=$(date +%s%N)`,
    `( ${cmd}\n) >/tmp/harness-bench.out 2>&1`,
    `__rc=$?`,
    `__n1=$(date +%s%N)`,
    `echo "${MARK} $__rc $(( (__n1 - __n0) / 1000 ))"`,
    `[ $__rc -eq 0 ] || tail -n 5 /tmp/harness-bench.out >&2`,
    `exit 0`,
  ].join('\n');
}

/** `harness-bench <exit> <µs>` → exit status and milliseconds (pure). */
export function parseBenchLine(stdout: string): { exit: number; ms: number } | undefined {
  const m = new RegExp(`^${MARK} (\\d+) (\\d+)$`, 'm').exec(stdout);
  return m ? { exit: Number(m[1]), ms: Number(m[2]) / 1000 } : undefined;
}

export const benchStep: StepKind<Params> = {
  kind: 'bench',
  summary: 'time a guest command N times (guest clock): a duration metric bench:<label> in ms',
  schema: Params as z.ZodType<Params, unknown>,
  title: (p) => `bench ${p.label}: ${p.command.split('\n')[0]!.slice(0, 50)}`,
  run: (ctx, p) =>
    runBody(ctx, async (r) => {
      const repeats = p.repeats ?? ctx.repeats ?? 3;
      const samples: number[] = [];
      try {
        for (let i = 0; i < repeats; i++) {
          if (p.before) await r.sh(withEnv(ctx.env, p.before));
          const res = await r.sh(withEnv(ctx.env, benchScript(p.command)));
          const t = parseBenchLine(res.stdout);
          if (!t) throw new StepFailure(`no timing line from the guest: ${res.stdout.trim().slice(-200)}`);
          if (t.exit !== 0) throw new StepFailure(`run ${i + 1}/${repeats}: '${p.command.split('\n')[0]}' exited ${t.exit}${res.stderr.trim() ? ` — ${res.stderr.trim().split('\n').at(-1)}` : ''}`);
          samples.push(t.ms);
          if (p.after) await r.sh(withEnv(ctx.env, p.after));
        }
      } finally {
        if (samples.length) r.metrics.push(metric(`bench:${p.label}`, 'ms', 'lower', samples, { step: 'bench', command: p.command, before: p.before ?? null, after: p.after ?? null }));
      }
      r.details.repeats = repeats;
    }),
};
