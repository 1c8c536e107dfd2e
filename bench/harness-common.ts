// Shared helpers for the harness-speed benchmarks (bench/harness-*.ts). They print figures; they are not tests.
import { appendFile, mkdtemp, readdir, readFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import type { RunResult } from '../harness/model/results.js';
import { CONSOLE_STDIO, isConsoleChardev } from '../harness/vm/qemu-args.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(ROOT, 'bin', 'ramdax-harness.js');
export const CACHE = process.env.RAMDAX_HARNESS_CACHE ?? join(process.env.HOME ?? '/root', '.cache', 'ramdax-harness');
export const KEYS = { client: join(CACHE, 'keys', 'harness_ed25519'), hostPub: join(CACHE, 'keys', 'guest_host_ed25519.pub') };

/** `--name value` or `--name=value` from argv, else the default. */
export function flag(name: string, def: string): string {
  const a = process.argv.slice(2);
  const i = a.findIndex((x) => x === `--${name}` || x.startsWith(`--${name}=`));
  if (i < 0) return def;
  return a[i]!.includes('=') ? a[i]!.split('=').slice(1).join('=') : (a[i + 1] ?? def);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
export const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

/** A plain text table with aligned columns. */
export function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const w = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(cells[0]!), w.map((n) => '-'.repeat(n)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** Append one dated line to bench/results.md (the history of measured figures). */
export async function record(bench: string, text: string): Promise<void> {
  const line = `- ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} **${bench}** ${text} (host: ${cpus().length} cores, load ${load()})\n`;
  await appendFile(join(ROOT, 'bench', 'results.md'), line);
  process.stdout.write(`\nappended to bench/results.md:\n${line}`);
}

export async function tempResults(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `ramdax-bench-${prefix}-`));
}

export interface HarnessRun {
  wallMs: number;
  run: RunResult;
  dir: string;
  /** Host ms since epoch of each events.jsonl line (the case event stream: type, case, ...). */
  events: { at: number; type: string; case?: string; name?: string }[];
  spawnedAt: number;
  exitCode: number;
}

/** Start `ramdax-harness run ARGS --results DIR` (node, same process tree as a user's). */
export function startHarness(args: string[], resultsRoot: string): ResultPromise<{ reject: false; stdout: 'pipe'; stderr: 'pipe' }> {
  return execa(process.execPath, [BIN, 'run', ...args, '--results', resultsRoot], { cwd: ROOT, reject: false, stdout: 'pipe', stderr: 'pipe' });
}

/** Read the (only) run folder a harness run wrote under resultsRoot. */
export async function readRunDir(resultsRoot: string): Promise<{ dir: string; run: RunResult; events: HarnessRun['events'] }> {
  const dirs = (await readdir(resultsRoot)).sort();
  const dir = join(resultsRoot, dirs.at(-1)!);
  const run = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as RunResult;
  const events = (await readFile(join(dir, 'events.jsonl'), 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .map((e) => ({ ...e, at: Date.parse(e.at) }));
  return { dir, run, events };
}

export async function runHarness(args: string[], resultsRoot?: string): Promise<HarnessRun> {
  const root = resultsRoot ?? (await tempResults('run'));
  const spawnedAt = Date.now();
  const p = startHarness(args, root);
  const r = await p;
  const wallMs = Date.now() - spawnedAt;
  const { dir, run, events } = await readRunDir(root);
  return { wallMs, run, dir, events, spawnedAt, exitCode: r.exitCode ?? -1 };
}

/** The QEMU argv of a recorded case with its SSH forward moved to `port` and its QMP socket dropped. */
export function rawArgv(argv: string[], port: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '-qmp') {
      i++;
      continue;
    }
    // The raw script takes the console on QEMU's stdout.
    if (isConsoleChardev(argv[i]!)) {
      out.push(CONSOLE_STDIO);
      continue;
    }
    out.push(argv[i]!.replace(/hostfwd=tcp:127\.0\.0\.1:\d+-:22/, `hostfwd=tcp:127.0.0.1:${port}-:22`));
  }
  return out;
}
