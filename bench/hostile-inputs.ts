// How fast bad input ends: `ramdax-harness validate` as a user runs it (a real
// process, node + tsx start-up included) on every hostile input of the unit
// test and every file of the bad-scenario corpus. Prints exit status and wall
// time per input; the bound is 2 s and exit 2. No QEMU: no lock needed.
//   npx tsx bench/hostile-inputs.ts
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { hostileInputs } from '../test/helpers/hostile-inputs.js';
import { loadCases } from '../harness/cli/load-cases.js';
import { BIN, load, record, ROOT, table } from './harness-common.js';

const dir = await mkdtemp(join(tmpdir(), 'ramdax-hostile-bench-'));
const inputs = hostileInputs(dir);
for (const i of inputs) await i.make(join(dir, i.name));
const corpus = (await readdir(join(ROOT, 'test/fixtures/bad-scenarios'))).filter((f) => f.endsWith('.yaml')).map((f) => join(ROOT, 'test/fixtures/bad-scenarios', f));
const rows: (string | number)[][] = [];
const times: number[] = [];
/** The loader alone, in this process (what `validate` does after node and tsx have started). */
const loaderMs: number[] = [];
let stackTraces = 0;
let notTwo = 0;
for (const path of [...inputs.map((i) => join(dir, i.name)), ...corpus]) {
  const l0 = performance.now();
  await loadCases([path], []).catch(() => undefined);
  const lms = Math.round(performance.now() - l0);
  loaderMs.push(lms);
  const t0 = Date.now();
  const r = await execa('node', [BIN, 'validate', path], { cwd: ROOT, reject: false, timeout: 60_000 });
  const ms = Date.now() - t0;
  times.push(ms);
  if (r.exitCode !== 2) notTwo++;
  if (/^\s+at\s/m.test(r.stderr)) stackTraces++;
  if (path.startsWith(dir)) rows.push([path.slice(dir.length + 1), r.exitCode ?? String(r.signal), `${lms} ms`, `${ms} ms`]);
}
await rm(dir, { recursive: true, force: true });
const sorted = [...times].sort((a, b) => a - b);
const lsorted = [...loaderMs].sort((a, b) => a - b);
process.stdout.write(`${table(['generated input', 'exit', 'loader', 'validate wall'], rows)}\n\n`);
const summary = `${times.length} bad inputs (${inputs.length} generated + ${corpus.length} corpus files), each a separate \`validate\` process: exit 2 for ${times.length - notTwo}, stack traces ${stackTraces}; loader alone median ${lsorted[lsorted.length >> 1]} ms, max ${lsorted.at(-1)} ms; process wall median ${sorted[sorted.length >> 1]} ms, max ${sorted.at(-1)} ms (node + tsx start-up included; load ${load()})`;
process.stdout.write(`${summary}\n`);
if (process.argv.includes('--record')) await record('hostile-inputs', summary);
