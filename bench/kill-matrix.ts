// The kill matrix: each seeded ramdax.c bug (test/fixtures/seeded-bugs/*.patch)
// on top of source-7.2 through `run --kernel source-7.2 --patch BUG --quick`
// (and with --default, the default run `run scenarios/` too): does the suite
// fail, on which point, how long did the build and the run take. The quick
// suite must fail wherever the default run fails for a ramdax reason.
// Usage: npx tsx bench/kill-matrix.ts [--suites quick,default] [--bugs 0001,0004] [--kernel source-7.2]
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { BIN, flag, load, record, ROOT, sec, table, tempResults } from './harness-common.js';

const kernel = flag('kernel', 'source-7.2');
const suites = flag('suites', 'quick').split(',');
const only = flag('bugs', '').split(',').filter(Boolean);
const dir = join(ROOT, 'test', 'fixtures', 'seeded-bugs');
const bugs = (await readdir(dir)).filter((f) => f.endsWith('.patch') && (!only.length || only.some((o) => f.startsWith(o)))).sort();

interface Cell {
  exit: number;
  /** Failing cases and their first failing point. */
  failed: string[];
  cases: number;
  buildMs: number;
  totalMs: number;
}

async function once(bug: string, suite: string): Promise<Cell> {
  const res = await tempResults(`kill-${suite}`);
  const args = ['run', '--kernel', kernel, '--patch', join(dir, bug), '--results', res, ...(suite === 'quick' ? ['--quick'] : ['scenarios'])];
  const started = Date.now();
  let readyAt: number | undefined;
  const child = execa(process.execPath, [BIN, ...args], { cwd: ROOT, reject: false, stdout: 'pipe', stderr: 'pipe' });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    if (readyAt === undefined && /kernel \S+: .*ready in [\d.]+ s/.test(err)) readyAt = Date.now();
  });
  const r = await child;
  const totalMs = Date.now() - started;
  const runs = await readdir(res).catch(() => [] as string[]);
  if (!runs.length) throw new Error(`${bug} ${suite}: no run folder (exit ${r.exitCode}):\n${err.split('\n').slice(-15).join('\n')}`);
  const run = JSON.parse(await readFile(join(res, runs.sort().at(-1)!, 'results.json'), 'utf8')) as { cases: { id: string; status: string; points: { name: string; status: string; reason?: string }[] }[] };
  const failed = run.cases
    .filter((c) => c.status !== 'pass' && c.status !== 'skip')
    .map((c) => {
      const p = c.points.find((x) => x.status === 'fail' || x.status === 'error');
      return `${c.id}: ${c.status}${p ? ` at "${p.name}"${p.reason ? ` (${p.reason.split('\n')[0]!.slice(0, 140)})` : ''}` : ''}`;
    });
  return { exit: r.exitCode ?? -1, failed, cases: run.cases.length, buildMs: readyAt !== undefined ? readyAt - started : NaN, totalMs };
}

const loadBefore = load();
const rows: (string | number)[][] = [];
const lines: string[] = [];
for (const bug of bugs) {
  for (const suite of suites) {
    const c = await once(bug, suite);
    const verdict = c.exit === 1 ? 'FAILS (caught)' : c.exit === 0 ? 'passes (missed)' : `exit ${c.exit}`;
    process.stderr.write(`${bug} ${suite}: ${verdict}; build ${sec(c.buildMs)}, total ${sec(c.totalMs)}\n${c.failed.map((f) => `  ${f}\n`).join('')}`);
    rows.push([bug.replace(/\.patch$/, ''), suite, verdict, `${c.failed.length}/${c.cases}`, sec(c.buildMs), sec(c.totalMs)]);
    lines.push(`${bug.replace(/\.patch$/, '')} ${suite}: ${verdict} (${c.failed.length}/${c.cases} cases; ${c.failed.slice(0, 3).join('; ')}${c.failed.length > 3 ? '; …' : ''}; build ${sec(c.buildMs)}, total ${sec(c.totalMs)})`);
  }
}
process.stdout.write(`\nkill matrix on ${kernel}, load before ${loadBefore}, after ${load()}\n${table(['seeded bug', 'suite', 'verdict', 'failing cases', 'build', 'bug to verdict'], rows)}\n`);
await record('kill-matrix', lines.join(' | '));
