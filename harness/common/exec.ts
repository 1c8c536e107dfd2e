import { execa, type Options } from 'execa';
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
