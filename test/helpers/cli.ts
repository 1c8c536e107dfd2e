import { execa } from 'execa';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Parser } from 'tap-parser';

export const root = resolve(import.meta.dirname, '..', '..');
export const bin = join(root, 'bin', 'ramdax-harness.js');

/** Run the CLI as a user would (argument array, no shell). */
export function cli(args: string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}) {
  return execa('node', [bin, ...args], { cwd: root, reject: false, timeout: opts.timeoutMs ?? 15 * 60_000, env: opts.env, stdin: 'ignore' });
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
