import { execa } from 'execa';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Parser } from 'tap-parser';

export const root = resolve(import.meta.dirname, '..', '..');
export const bin = join(root, 'bin', 'ramdax-harness.js');

/**
 * tap starts test files with its process-info loader in NODE_OPTIONS (for
 * coverage, which is off): the CLI a test starts goes without it, as a
 * user's does (it cost 0.6 s CPU per start).
 */
const childEnv = { NODE_OPTIONS: '' };

/** Run the CLI as a user would (argument array, no shell). */
export function cli(args: string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}) {
  return execa('node', [bin, ...args], { cwd: root, reject: false, timeout: opts.timeoutMs ?? 15 * 60_000, env: { ...childEnv, ...opts.env }, stdin: 'ignore' });
}

/**
 * Several CLI invocations in one node process (test/helpers/cli-batch.ts):
 * the same `main` as the binary, exit codes and output per invocation, one
 * process start for all of them.
 */
export async function cliBatch(invocations: string[][]): Promise<{ exitCode: number; stdout: string; stderr: string }[]> {
  const r = await execa('node', ['--import', 'tsx', join(root, 'test', 'helpers', 'cli-batch.ts'), JSON.stringify(invocations)], { cwd: root, reject: false, stdin: 'ignore', env: childEnv });
  if (r.exitCode !== 0) throw new Error(`cli-batch exited ${r.exitCode}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

export const tempDir = (prefix: string) => mkdtemp(join(tmpdir(), prefix));

export interface TapSummary {
  ok: boolean;
  count: number;
  pass: number;
  fail: number;
  skip: number;
  /** Lines that are not TAP (strict mode makes them errors). */
  extra: string[];
  /** Failures of the parser itself (syntax), not failing tests. */
  tapErrors: unknown[];
  /** Names of top-level points (cases) and their ok flag. */
  points: { name: string; ok: boolean; skip: unknown }[];
  /** name -> ok of every nested point, keyed `case > point`. */
  nested: Map<string, boolean>;
}

/** Parse TAP in strict mode, collecting what the tests assert on. */
export function parseTap(text: string): Promise<TapSummary> {
  const extra: string[] = [];
  const points: TapSummary['points'] = [];
  const nested = new Map<string, boolean>();
  const p = new Parser({ strict: true });
  p.on('extra', (e: string) => extra.push(e));
  p.on('assert', (a: { name: string; ok: boolean; skip: unknown }) => points.push({ name: a.name, ok: a.ok, skip: a.skip }));
  p.on('child', (child: Parser) => {
    child.on('assert', (a: { name: string; ok: boolean }) => nested.set(`${child.name} > ${a.name}`, a.ok));
  });
  return new Promise((resolve) => {
    p.on('complete', (r: { ok: boolean; count: number; pass: number; fail: number; skip: number; failures: { tapError?: unknown }[] }) =>
      resolve({ ok: r.ok, count: r.count, pass: r.pass, fail: r.fail, skip: r.skip, extra, tapErrors: r.failures.filter((f) => f.tapError), points, nested }),
    );
    p.end(text);
  });
}
