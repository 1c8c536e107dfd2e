// Benchmark: boot to the first SSH command under the harness vs the raw floor
// (the same QEMU argv, kernel and image started by bench/harness-raw-boot.sh,
// which polls plain `ssh`). Alternates the two for N rounds, prints medians and
// the ratio. Usage: npx tsx bench/harness-vs-raw.ts [--rounds 5] [--scenario scenarios/boot-smoke.yaml] [--port 45900]
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { flag, KEYS, load, median, rawArgv, record, ROOT, runHarness, sec, table } from './harness-common.js';

const rounds = Number(flag('rounds', '5'));
const scenario = flag('scenario', 'scenarios/boot-smoke.yaml');
const port = Number(flag('port', '45900'));

interface Sample {
  harnessFirstCmd: number; // QEMU start → first command, as the harness records it
  harnessFromSpawn: number; // `ramdax-harness run` spawned → first command (boot point event)
  harnessWall: number; // whole `run` (steps and shutdown included)
  rawFirstCmd: number;
  rawWall: number; // raw: boot, `ssh true`, power off
}

async function harnessOnce(): Promise<{ firstCmd: number; fromSpawn: number; wall: number; argv: string[] }> {
  const h = await runHarness([scenario, '--ssh-port', String(port + 1)]);
  const c = h.run.cases[0];
  if (!c || c.boot.firstCommandMs === undefined || !c.qemuArgv) throw new Error(`harness run in ${h.dir} did not reach the first command (status ${c?.status}: ${c?.reason})`);
  const bootEvent = h.events.find((e) => e.type === 'boot-ended');
  return { firstCmd: c.boot.firstCommandMs, fromSpawn: bootEvent ? bootEvent.at - h.spawnedAt : NaN, wall: h.wallMs, argv: c.qemuArgv };
}

async function rawOnce(argv: string[]): Promise<{ firstCmd: number; wall: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'ramdax-bench-raw-'));
  const r = await execa(join(ROOT, 'bench', 'harness-raw-boot.sh'), [String(port), KEYS.client, KEYS.hostPub, join(dir, 'console.log'), '--', ...rawArgv(argv, port)]);
  const m = /first_command_ms=(\d+) total_ms=(\d+)/.exec(r.stdout);
  if (!m) throw new Error(`raw script printed: ${r.stdout}`);
  return { firstCmd: Number(m[1]), wall: Number(m[2]) };
}

const loadBefore = load();
const samples: Sample[] = [];
// The first harness run also provides the argv for the raw script.
let argv: string[] | undefined;
for (let i = 0; i < rounds; i++) {
  // Alternate the order so neither side always runs on a warmer host.
  const order = i % 2 === 0 ? ['harness', 'raw'] : ['raw', 'harness'];
  let h: Awaited<ReturnType<typeof harnessOnce>> | undefined;
  let r: Awaited<ReturnType<typeof rawOnce>> | undefined;
  for (const side of order) {
    if (side === 'raw' && !argv) argv = (h = await harnessOnce()).argv;
    if (side === 'harness') h = h ?? (await harnessOnce());
    else r = await rawOnce(argv!);
  }
  samples.push({ harnessFirstCmd: h!.firstCmd, harnessFromSpawn: h!.fromSpawn, harnessWall: h!.wall, rawFirstCmd: r!.firstCmd, rawWall: r!.wall });
  process.stderr.write(`round ${i + 1}/${rounds}: harness first command ${sec(h!.firstCmd)} (from spawn ${sec(h!.fromSpawn)}), raw ${sec(r!.firstCmd)}\n`);
}

const med = (k: keyof Sample) => median(samples.map((s) => s[k]));
const ratioQemu = med('harnessFirstCmd') / med('rawFirstCmd');
const ratioSpawn = med('harnessFromSpawn') / med('rawFirstCmd');
process.stdout.write(`\nharness vs raw floor: ${scenario}, ${rounds} rounds alternating, load before ${loadBefore}, after ${load()}\n`);
process.stdout.write(
  `${table(
    ['figure (median)', 'harness', 'raw', 'ratio'],
    [
      ['QEMU start → first command', sec(med('harnessFirstCmd')), sec(med('rawFirstCmd')), `${ratioQemu.toFixed(3)}×`],
      ['process start → first command', sec(med('harnessFromSpawn')), sec(med('rawFirstCmd')), `${ratioSpawn.toFixed(3)}×`],
      ['whole run (harness: 3 checks + shutdown)', sec(med('harnessWall')), sec(med('rawWall')), `${(med('harnessWall') / med('rawWall')).toFixed(3)}×`],
    ],
  )}\n`,
);
process.stdout.write(`target ≤ 1.15× (QEMU start → first command): ${ratioQemu <= 1.15 ? 'met' : 'NOT met'}\n`);
await record(
  'harness-vs-raw',
  `${scenario}, ${rounds} rounds: first command harness ${sec(med('harnessFirstCmd'))} (from process start ${sec(med('harnessFromSpawn'))}) vs raw ${sec(med('rawFirstCmd'))} → ${ratioQemu.toFixed(3)}× (${ratioSpawn.toFixed(3)}× from process start)`,
);
