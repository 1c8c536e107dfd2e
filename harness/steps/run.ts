import { z } from 'zod';
import { Parser } from 'tap-parser';
import { quote } from '../common/shell-quote.js';
import { runBody } from './recorder.js';
import type { StepKind } from './types.js';

const Params = z
  .object({
    /** A guest shell command (runs in the guest's shell, never on the host). */
    command: z.string().min(1).max(8192),
    expect: z
      .object({
        exit: z.number().int().min(0).max(255).default(0),
        /** A regular expression stdout must match. */
        stdout: z
          .string()
          .refine((s) => {
            try {
              new RegExp(s, 'm');
              return true;
            } catch {
              return false;
            }
          }, 'not a valid regular expression')
          .optional(),
      })
      .strict()
      .default({ exit: 0 }),
    /** Treat stdout as TAP and pass its points through as subtests: auto detects `TAP version` or a plan. */
    tap: z.union([z.boolean(), z.literal('auto')]).default('auto'),
  })
  .strict();
type Params = z.output<typeof Params>;

/** Does this output look like TAP? */
export function looksLikeTap(out: string): boolean {
  return /^TAP version \d+$/m.test(out) || (/^1\.\.\d+/m.test(out) && /^(not )?ok\b/m.test(out));
}

/** Parse TAP text; returns whether it passed and a failure summary (pure, async because tap-parser streams). */
export async function judgeTap(text: string): Promise<{ ok: boolean; failures: string[]; count: number }> {
  const failures: string[] = [];
  const parser = new Parser({ strict: false });
  parser.on('assert', (a: { ok: boolean; id: number; name: string; skip?: unknown; todo?: unknown }) => {
    if (!a.ok && !a.todo && !a.skip) failures.push(`${a.id} - ${a.name}`);
  });
  const done = new Promise<{ ok: boolean; count: number }>((resolve) => parser.on('complete', (res: { ok: boolean; count: number }) => resolve(res)));
  parser.end(text);
  const res = await done;
  return { ok: res.ok, failures, count: res.count };
}

/** Matrix axes become exported guest shell variables, quoted — never spliced into the command text. */
export function withEnv(env: Record<string, string> | undefined, command: string): string {
  const entries = Object.entries(env ?? {});
  if (entries.length === 0) return command;
  return `export ${entries.map(([k, v]) => `${k}=${quote(v)}`).join(' ')}\n${command}`;
}

export const runStep: StepKind<Params> = {
  kind: 'run',
  summary: 'any guest command: exit status and an optional stdout regex decide; TAP output becomes subtests',
  schema: Params as z.ZodType<Params, unknown>,
  shorthand: (cmd) => ({ command: cmd }),
  title: (p) => `run: ${p.command.split('\n')[0]!.slice(0, 60)}`,
  run: (ctx, p) =>
    runBody(ctx, async (r) => {
      const res = await r.sh(withEnv(ctx.env, p.command), { allowFail: true });
      const tap = p.tap === true || (p.tap === 'auto' && looksLikeTap(res.stdout));
      r.check(res.exitCode === p.expect.exit, `exit ${res.exitCode ?? res.signal}, expected ${p.expect.exit}${res.stderr.trim() ? ` — ${res.stderr.trim().split('\n').at(-1)}` : ''}`);
      if (p.expect.stdout !== undefined) {
        r.check(new RegExp(p.expect.stdout, 'm').test(res.stdout), `stdout does not match /${p.expect.stdout}/`);
      }
      if (tap) {
        const judged = await judgeTap(res.stdout);
        const outcome = r.outcome(judged.ok ? 'pass' : 'fail', judged.ok ? undefined : `guest TAP failed: ${judged.failures.join('; ') || 'incomplete or bad plan'}`);
        outcome.subtap = res.stdout;
        r.details.tapPoints = judged.count;
        return outcome;
      }
    }),
};
