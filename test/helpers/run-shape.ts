/**
 * The shape of a run folder's results.json and results.tap, with what varies
 * between runs taken out (times, ids, hashes, ports, paths, measured values):
 * the key paths and value types of the JSON, each case's status and points,
 * and the TAP line forms. Two runs of the same scenarios on a working kernel
 * have the same shape; a change to what the harness records does not.
 *
 *   npx tsx test/helpers/run-shape.ts RUN_DIR [--case ID]... [--except ID]... > shape.json   # record
 *   npx tsx test/helpers/run-shape.ts RUN_DIR GOLDEN.json                # compare (exit 1 on a difference)
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface RunShape {
  /** `path: type` for every value in results.json (array items merged as `[]`), sorted. */
  keys: string[];
  /** Per case: `id: status | kind:name:status, ...`. */
  cases: string[];
  /** The distinct TAP line forms (names, numbers, times and reasons replaced), sorted. */
  tap: string[];
}

/** Maps whose keys are data (file names, option names, step parameters), not fields: only their value types count. */
const DATA_MAPS = /(\.sha256|\.key|\.params|\.options|\.details\.(events|pmdFaults|pteFaults)|\.details\.[^.]+\.[^.]+)$/;
/** Present only when a boot needed a retry (an emulator flake): not part of the shape. */
const FLAKY = /\.details\.flakyBoot/;

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

export function jsonKeys(value: unknown, path = '', out = new Set<string>()): Set<string> {
  if (FLAKY.test(path)) return out;
  out.add(`${path || '.'}: ${typeOf(value)}`);
  if (Array.isArray(value)) for (const v of value) jsonKeys(v, `${path}[]`, out);
  else if (value && typeof value === 'object') {
    const data = DATA_MAPS.test(path);
    for (const [k, v] of Object.entries(value)) jsonKeys(v, data ? `${path}.*` : `${path}.${k}`, out);
  }
  return out;
}

interface ShapeCase {
  id: string;
  status: string;
  points: { kind: string; name: string; status: string }[];
}

export function caseLine(c: ShapeCase): string {
  return `${c.id}: ${c.status} | ${c.points.map((p) => `${p.kind}:${p.name}:${p.status}`).join(', ')}`;
}

/** A TAP line's form: indentation, ok/not ok, directive kind; names, numbers, times and reasons replaced. */
export function tapForm(line: string): string | undefined {
  if (/^\s*# flaky boot:/.test(line)) return undefined;
  return line
    .replace(/^(\s*)((?:not )?ok) \d+ - (.*?)( # (time=|SKIP( miss:)?|error:)|$).*$/, (_m, ind: string, ok: string, _name, _d, kind?: string) => `${ind}${ok} N - NAME${kind === undefined ? '' : kind === 'time=' ? ' # time=T' : ` # ${kind.trim()} REASON`}`)
    .replace(/^(\s*)# Subtest: .*$/, '$1# Subtest: NAME')
    .replace(/^(\s*)1\.\.\d+$/, '$11..N');
}

export function shapeOf(results: { cases: ShapeCase[] } & Record<string, unknown>, tapText: string): RunShape {
  const tap = new Set<string>();
  for (const l of tapText.split('\n')) {
    const f = l.trim() === '' ? undefined : tapForm(l);
    if (f !== undefined) tap.add(f);
  }
  return { keys: [...jsonKeys(results)].sort(), cases: results.cases.map(caseLine).sort(), tap: [...tap].sort() };
}

/** The TAP of only these cases (their subtests and closing lines), with the document's header. */
export function tapOfCases(tapText: string, ids: string[]): string {
  const out: string[] = [];
  let keep = false;
  for (const l of tapText.split('\n')) {
    if (/^TAP version|^1\.\.\d+$/.test(l)) out.push(l);
    else if (l.startsWith('# Subtest: ')) keep = ids.includes(l.slice('# Subtest: '.length));
    if (keep && !/^TAP version|^1\.\.\d+$/.test(l)) out.push(l);
    if (/^(not )?ok \d+ - /.test(l)) keep = false;
  }
  return out.join('\n');
}

/** A run folder's shape; with `ids`, as if the run had held only those cases. */
export async function readShape(runDir: string, ids?: string[]): Promise<RunShape> {
  const results = JSON.parse(await readFile(join(runDir, 'results.json'), 'utf8'));
  const tap = await readFile(join(runDir, 'results.tap'), 'utf8');
  if (!ids) return shapeOf(results, tap);
  return shapeOf({ ...results, cases: results.cases.filter((c: ShapeCase) => ids.includes(c.id)) }, tapOfCases(tap, ids));
}

/**
 * What differs, as lines (empty: same shape). With `subset`, the fresh run
 * ran some of the golden run's cases: each of its cases must be as in the
 * golden run, and it may have no key or TAP form the golden run lacks.
 */
export function diffShapes(golden: RunShape, fresh: RunShape, o: { subset?: boolean } = {}): string[] {
  const out: string[] = [];
  const idOf = (l: string) => l.slice(0, l.indexOf(': '));
  const freshIds = new Set(fresh.cases.map(idOf));
  for (const [what, g, f, both] of [
    ['results.json key', golden.keys, fresh.keys, !o.subset],
    ['case', o.subset ? golden.cases.filter((l) => freshIds.has(idOf(l))) : golden.cases, fresh.cases, true],
    ['TAP line form', golden.tap, fresh.tap, !o.subset],
  ] as const) {
    const gs = new Set(g);
    const fs = new Set(f);
    if (both) for (const x of g) if (!fs.has(x)) out.push(`- ${what}: ${x}`);
    for (const x of f) if (!gs.has(x)) out.push(`+ ${what}: ${x}`);
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const take = (flag: string) => {
    const out: string[] = [];
    for (let i = args.indexOf(flag); i >= 0; i = args.indexOf(flag)) out.push(...args.splice(i, 2).slice(1));
    return out;
  };
  const only = take('--case');
  const except = take('--except');
  const [runDir, golden] = args;
  if (!runDir) {
    process.stderr.write('usage: run-shape.ts RUN_DIR [--case ID]... [--except ID]... [GOLDEN.json]\n');
    process.exit(2);
  }
  const all = (JSON.parse(await readFile(join(runDir, 'results.json'), 'utf8')) as { cases: ShapeCase[] }).cases.map((c) => c.id);
  const ids = only.length || except.length ? (only.length ? only : all).filter((id) => !except.includes(id)) : undefined;
  const shape = await readShape(runDir, ids);
  if (!golden) process.stdout.write(`${JSON.stringify(shape, null, 2)}\n`);
  else {
    const diff = diffShapes(JSON.parse(await readFile(golden, 'utf8')) as RunShape, shape);
    process.stdout.write(diff.length ? `${diff.join('\n')}\n` : 'same shape\n');
    process.exit(diff.length ? 1 : 0);
  }
}
