import { execa, type Options, type ResultPromise } from 'execa';
import { infraError } from './errors.js';

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * Run a host tool with an argument array (never through a shell) and turn a
 * failure into a HarnessError that carries the command and its stderr tail.
 */
export async function host(file: string, args: readonly string[], options: Options = {}): Promise<ExecResult> {
  const result = await execa(file, args, { reject: false, stdin: 'ignore', ...options, encoding: 'utf8' });
  const stdout = typeof result.stdout === 'string' ? result.stdout : '';
  const stderr = typeof result.stderr === 'string' ? result.stderr : '';
  if (result.failed) {
    const why = result.timedOut ? 'timed out' : result.exitCode !== undefined ? `exit ${result.exitCode}` : result.signal ?? 'failed';
    throw infraError(`${[file, ...args].join(' ')}: ${why}\n${tail(stderr || stdout, 20)}`, result.cause ?? undefined);
  }
  return { stdout, stderr, exitCode: result.exitCode ?? 0 };
}

export function tail(text: string, lines: number): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

/**
 * A pipeline of host tools, each with an argument array (no shell): every
 * tool's stdout feeds the next, the last one's goes to `toFile`. A failing
 * tool is a HarnessError naming the pipeline and its stderr.
 */
export async function hostPipeline(tools: readonly (readonly [string, readonly string[]])[], o: { cwd?: string; toFile: string }): Promise<void> {
  const [first, ...rest] = tools;
  if (!first) throw new Error('hostPipeline: no tools');
  const last = { stdout: { file: o.toFile } } as const;
  const text = tools.map(([f, a]) => [f, ...a].join(' ')).join(' | ');
  try {
    let p: PromiseLike<unknown> & Pick<ResultPromise, 'pipe'> = execa(first[0], first[1], { cwd: o.cwd, stdin: 'ignore', ...(rest.length ? {} : last) });
    for (const [i, [file, args]] of rest.entries()) p = p.pipe(file, args, { cwd: o.cwd, ...(i === rest.length - 1 ? last : {}) });
    await p;
  } catch (err) {
    const e = err as { shortMessage?: string; stderr?: unknown };
    throw infraError(`${text} > ${o.toFile}: ${e.shortMessage ?? String(err)}${typeof e.stderr === 'string' && e.stderr ? `\n${tail(e.stderr, 20)}` : ''}`, err);
  }
}
