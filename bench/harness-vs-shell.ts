// Benchmark: the 4 core scenarios under the harness (parallel VMs, --jobs) vs
// bench/harness-suite.sh, a hand-written sequential shell script doing the
// same checks (boot, ndctl, mkfs, mount -o dax, statx, devdax round trip,
// power off) with the same QEMU argv. Alternates; prints medians and the ratio.
// Usage: npx tsx bench/harness-vs-shell.ts [--rounds 1] [--jobs 2] [--port 45950]
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { flag, KEYS, load, median, record, ROOT, runHarness, sec, table } from './harness-common.js';

const rounds = Number(flag('rounds', '1'));
const jobs = flag('jobs', '2');
const port = Number(flag('port', '45950'));
const CORE = ['boot-smoke', 'ramdax-bind', 'fsdax-ext4', 'devdax-roundtrip'];

const notes: string[] = [];

async function harnessOnce(): Promise<{ wall: number; argv: Map<string, string[]> }> {
  const h = await runHarness([...CORE.map((n) => `scenarios/${n}.yaml`), '--jobs', jobs, '--ssh-port', String(port + 10)]);
  // A case that failed (e.g. a boot deadline missed on an overloaded host) still cost its time: keep the figure, say so.
  if (h.exitCode !== 0) {
    const bad = h.run.cases.filter((c) => c.status !== 'pass').map((c) => `${c.id} ${c.status}: ${c.reason ?? ''}`);
    notes.push(`harness exit ${h.exitCode} (${bad.join('; ')})`);
    process.stderr.write(`note: harness run in ${h.dir} exited ${h.exitCode}: ${bad.join('; ')}\n`);
  }
  return { wall: h.wallMs, argv: new Map(h.run.cases.map((c) => [c.id, c.qemuArgv ?? []])) };
}

async function shellOnce(argv: Map<string, string[]>): Promise<number> {
  const work = await mkdtemp(join(tmpdir(), 'ramdax-bench-shell-'));
  const files: string[] = [];
  for (const id of CORE) {
    const a = (argv.get(id) ?? []).filter((x, i, all) => x !== '-qmp' && all[i - 1] !== '-qmp');
    if (a.length === 0) throw new Error(`no QEMU argv for ${id}`);
    const f = join(work, `${id}.argv`);
    await writeFile(f, a.map((x) => `${x}\0`).join(''));
    files.push(f);
  }
  const t0 = Date.now();
  const r = await execa(join(ROOT, 'bench', 'harness-suite.sh'), [String(port), KEYS.client, KEYS.hostPub, work, ...files], { reject: false });
  const wall = Date.now() - t0;
  if (r.exitCode !== 0) throw new Error(`shell suite failed (exit ${r.exitCode}), consoles in ${work}: ${r.stderr}`);
  return wall;
}

const before = load();
const hs: number[] = [];
const ss: number[] = [];
let argv: Map<string, string[]> | undefined;
for (let i = 0; i < rounds; i++) {
  const order = i % 2 === 0 ? ['harness', 'shell'] : ['shell', 'harness'];
  for (const side of order) {
    if (side === 'harness') {
      const h = await harnessOnce();
      argv ??= h.argv;
      hs.push(h.wall);
    } else ss.push(await shellOnce(argv!));
  }
  process.stderr.write(`round ${i + 1}/${rounds}: harness ${sec(hs.at(-1)!)}, shell ${sec(ss.at(-1)!)}\n`);
}
const ratio = median(hs) / median(ss);
process.stdout.write(`\n4 core scenarios: harness (--jobs ${jobs}) vs sequential shell script, ${rounds} round(s), load before ${before}, after ${load()}\n`);
process.stdout.write(`${table(['figure (median wall)', 'time'], [[`harness run --jobs ${jobs}`, sec(median(hs))], ['bench/harness-suite.sh', sec(median(ss))], ['ratio harness / shell', `${ratio.toFixed(3)}×`]])}\n`);
process.stdout.write(`target ≤ 0.6× (never above 1.0×): ${ratio <= 0.6 ? 'met' : ratio <= 1 ? 'below 1.0× but not 0.6×' : 'NOT met'}\n`);
if (notes.length) process.stdout.write(`notes: ${notes.join(' | ')}\n`);
await record('harness-vs-shell', `4 core scenarios, ${rounds} round(s): harness --jobs ${jobs} ${sec(median(hs))} vs sequential shell ${sec(median(ss))} → ${ratio.toFixed(3)}×${notes.length ? ` — ${notes.join(' | ')}` : ''}`);
