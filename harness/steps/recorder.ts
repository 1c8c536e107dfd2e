import type { Metric } from '../results/model.js';
import type { CommandResult, StepContext, StepOutcome } from './types.js';

/** Thrown inside a step to end it as a failure with a reason. */
export class StepFailure extends Error {
  constructor(
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'StepFailure';
  }
}

/**
 * Thrown inside a step to end it as a skip with a reason (e.g. the kernel
 * lacks a driver). `rest`: the rest of the case cannot run either (no ramdax
 * at all), so it is skipped too; otherwise the case goes on (e.g. a module
 * cycle on a kernel with everything built in).
 */
export class StepSkip extends Error {
  constructor(
    message: string,
    readonly rest = false,
  ) {
    super(message);
    this.name = 'StepSkip';
  }
}

/**
 * Runs guest commands for one step and remembers each, so a failure can show
 * exactly which command, its exit status and its stderr.
 */
export class StepRecorder {
  readonly commands: CommandResult[] = [];
  readonly details: Record<string, unknown> = {};
  /** Measured figures; kept even when the step fails later (a partial measurement is still data). */
  readonly metrics: Metric[] = [];
  private readonly deadline: number;

  constructor(private readonly ctx: StepContext) {
    this.deadline = Date.now() + ctx.timeoutMs;
  }

  /** Milliseconds left before the step's deadline. */
  remainingMs(): number {
    return this.deadline - Date.now();
  }

  /** Run a command; a non-zero exit (or a time-out) fails the step unless `allowFail`. */
  async sh(command: string, opts: { allowFail?: boolean; stdin?: string } = {}): Promise<CommandResult> {
    const remaining = this.deadline - Date.now();
    if (remaining <= 0) throw new StepFailure(`step timed out before running: ${command}`);
    const r = await this.ctx.guest.exec(command, { timeoutMs: remaining, stdin: opts.stdin });
    this.commands.push(r);
    if (r.timedOut) throw new StepFailure(`timed out after ${Math.round(r.durationMs / 1000)}s: ${command}`);
    if (r.exitCode !== 0 && !opts.allowFail) {
      const err = errorLine(r.stderr) || errorLine(r.stdout);
      throw new StepFailure(`exit ${r.exitCode ?? r.signal}: ${command}${err ? ` — ${err}` : ''}`);
    }
    return r;
  }

  /** Run a command whose stdout is JSON. */
  async json<T = unknown>(command: string): Promise<T> {
    const r = await this.sh(command);
    const text = r.stdout.trim();
    if (text === '') return [] as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new StepFailure(`not JSON from '${command}': ${text.slice(0, 200)}`);
    }
  }

  check(ok: boolean, message: string, details?: Record<string, unknown>): void {
    if (!ok) throw new StepFailure(message, details);
  }

  outcome(status: StepOutcome['status'] = 'pass', reason?: string): StepOutcome {
    return { status, reason, commands: this.commands, details: this.details, ...(this.metrics.length ? { metrics: this.metrics } : {}) };
  }
}

/** Run a step body and turn StepFailure/StepSkip into outcomes; anything else propagates. */
export async function runBody(ctx: StepContext, body: (r: StepRecorder) => Promise<StepOutcome | void>): Promise<StepOutcome> {
  const r = new StepRecorder(ctx);
  try {
    return (await body(r)) ?? r.outcome();
  } catch (err) {
    if (err instanceof StepFailure) {
      Object.assign(r.details, err.details ?? {});
      return r.outcome('fail', err.message);
    }
    if (err instanceof StepSkip) return { ...r.outcome('skip', err.message), ...(err.rest ? { skipRest: true } : {}) };
    throw err;
  }
}

function lastLine(s: string): string {
  return s.trim().split('\n').at(-1)?.trim() ?? '';
}

/**
 * The line that says what went wrong: the last one, unless the tool followed
 * its error with a usage text (mkfs.xfs does), then the line before "Usage".
 */
export function errorLine(text: string): string {
  const lines = text.trimEnd().split('\n');
  const usage = lines.findIndex((l) => /^usage:/i.test(l.trim()));
  if (usage > 0) return lines[usage - 1]!.trim();
  return lastLine(text);
}
