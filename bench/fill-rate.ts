// Benchmark: how long a `fill` takes per GiB under TCG, per namespace mode.
// Boots one guest (bench/fill-rate.yaml: every mode side by side in one
// 2176 MiB carve-out), fills SIZE of each namespace, reads it back, and
// prints the fill tool's own write and verify rates (guest time, the pattern
// loop only) and the whole step's wall time (python start, label reads,
// SSH included) as seconds per GiB. Sizing the default run and the nightly
// profile comes from these figures (docs/data-integrity.md).
// Usage: npx tsx bench/fill-rate.ts [--size 256M] [--scenario bench/fill-rate.yaml]
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatSize } from '../harness/common/units.js';
import { parseFioJson } from '../harness/perf/fio-json.js';
import { flag, load, record, runHarness, table, tempResults } from './harness-common.js';

const size = flag('size', '256M');
const source = flag('scenario', join('bench', 'fill-rate.yaml'));

const dir = await tempResults('fill');
const scenario = join(dir, 'fill-rate.yaml');
await writeFile(scenario, (await readFile(source, 'utf8')).replaceAll('SIZE', size));
const before = load();
const r = await runHarness([scenario]);
const c = r.run.cases[0];
if (!c) throw new Error(`no case ran (exit ${r.exitCode})`);
if (c.status !== 'pass') process.stderr.write(`note: the case ended ${c.status}: ${c.reason ?? ''}\n`);

const GiB = 1024 ** 3;
const rows: (string | number)[][] = [];
const summary: string[] = [];
for (const p of c.points.filter((x) => x.name.startsWith('fill '))) {
  const w = p.metrics?.find((m) => m.name === 'fill:write');
  const v = p.metrics?.find((m) => m.name === 'fill:verify');
  if (!w || !v) continue;
  const key = w.key as { mode: string; align: number | null; bytes: number };
  const label = `${key.mode}${key.align ? ` ${formatSize(key.align)}` : ''}`;
  const sPerGiB = (mibs: number) => GiB / 1024 ** 2 / mibs;
  const wallPerGiB = (p.durationMs / 1000) * (GiB / key.bytes);
  rows.push([p.name.replace(/^fill (\S+).*/, '$1'), label, (key.bytes / 1024 ** 2).toFixed(0), w.median.toFixed(1), v.median.toFixed(1), sPerGiB(w.median).toFixed(1), sPerGiB(v.median).toFixed(1), wallPerGiB.toFixed(1)]);
  summary.push(`${p.name.replace(/^fill (\S+).*/, '$1')} ${sPerGiB(w.median).toFixed(0)}+${sPerGiB(v.median).toFixed(0)} s/GiB`);
}
// fio on the raw namespace, same size: write with crc32c headers, then verify_only.
const fioRate = (prefix: string, dir: 'read' | 'write') => {
  const p = c.points.find((x) => x.name.startsWith(prefix));
  const out = p?.commands?.at(-1)?.stdout;
  if (!out) return undefined;
  try {
    return parseFioJson(out).jobs[0]?.figures.find((f) => f.direction === dir)?.bwMiBs;
  } catch {
    return undefined;
  }
};
const fw = fioRate('fio write', 'write');
const fv = fioRate('fio verify_only', 'read');
if (fw && fv) {
  const bytes = (rows[0]?.[2] as string | undefined) ?? '?';
  rows.push(['(fio, raw)', 'crc32c + verify_only', bytes, fw.toFixed(1), fv.toFixed(1), (1024 / fw).toFixed(1), (1024 / fv).toFixed(1), '—']);
  summary.push(`fio on raw ${(1024 / fw).toFixed(0)}+${(1024 / fv).toFixed(0)} s/GiB`);
}

process.stdout.write(`\nfill rate under ${c.accel?.accel ?? '?'} (${c.kernel?.release ?? '?'}), ${size} per namespace, load before ${before}, after ${load()}\n`);
process.stdout.write(`${table(['namespace', 'mode', 'MiB', 'write MiB/s', 'verify MiB/s', 'write s/GiB', 'verify s/GiB', 'step wall s/GiB'], rows)}\n`);
await record('fill-rate', `${size} per namespace, ${c.kernel?.release ?? '?'}, write+verify (tool, guest time): ${summary.join(', ')}`);
