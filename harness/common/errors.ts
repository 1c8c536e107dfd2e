import { ExitCode, type ExitCodeValue } from './exit-codes.js';
import { printable } from './printable.js';

/** Where in an input file something is wrong. */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

export type HarnessErrorKind = 'input' | 'infra' | 'interrupted';

/**
 * The one error type of the harness. It keeps its `cause` and knows which exit
 * status it maps to, so the CLI never has to guess.
 */
export class HarnessError extends Error {
  readonly kind: HarnessErrorKind;
  readonly hint: string | undefined;

  constructor(kind: HarnessErrorKind, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HarnessError';
    this.kind = kind;
    this.hint = options.hint;
  }

  get exitCode(): ExitCodeValue {
    if (this.kind === 'input') return ExitCode.badInput;
    if (this.kind === 'interrupted') return ExitCode.interrupted;
    return ExitCode.infra;
  }
}

/** Bad input with positions: one line `file:line:col: message` per problem. */
export class InputError extends HarnessError {
  readonly problems: { pos: SourcePos; message: string }[];

  constructor(problems: { pos: SourcePos; message: string }[]) {
    super('input', problems.map((p) => formatProblem(p.pos, p.message)).join('\n'));
    this.name = 'InputError';
    this.problems = problems;
  }
}

/** One line per problem: file names and messages quote input, whose control characters are escaped. */
export function formatProblem(pos: SourcePos, message: string): string {
  return printable(`${pos.file}:${pos.line}:${pos.col}: ${message}`);
}

export const infraError = (message: string, cause?: unknown, hint?: string): HarnessError =>
  new HarnessError('infra', message, { cause, hint });

export const inputError = (message: string, hint?: string): HarnessError =>
  new HarnessError('input', message, { hint });

/** A short description of any thrown value, with its cause chain. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 5; depth++) {
    if (cur instanceof Error) {
      parts.push(cur.message);
      cur = (cur as Error & { cause?: unknown }).cause;
    } else {
      parts.push(String(cur));
      cur = undefined;
    }
  }
  return parts.join(': caused by: ');
}
