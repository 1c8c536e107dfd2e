// Benchmark: the harness vs the raw floor (the same QEMU argv, kernel and image
// started by bench/harness-raw-boot.sh, which polls plain `ssh` with the
// command). Paired rounds, alternating which goes first; prints medians and
// ratios for QEMU start → first command and for whole processes (harness
// start → exit vs the script's start → exit).
// Usage: npx tsx bench/harness-vs-raw.ts [--rounds 5] [--scenario bench/one-command.yaml] [--kernel source-7.2] [--port 45900]
import { mkdtemp } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { flag, KEYS, load, median, rawArgv, record, ROOT, runHarness, sec, table } from './harness-common.js';

const rounds = Number(flag('rounds', '5'));
const scenario = flag('scenario', 'bench/one-command.yaml');
const kernel = flag('kernel', '');
/** The one command the raw script runs: the scenario's first `run:` step when it is a plain string (one-command.yaml: uname -r). */
const rawCmd = /^\s*- run: (.+)$/m.exec(readFileSync(join(ROOT, scenario), 'utf8'))?.[1]?.replace(/^"(.*)"$/, '$1') ?? 'true';
const port = Number(flag('port', '45900'));

interface Sample {
  harnessFirstCmd: number; // QEMU start → first command, as the harness records it
  harnessFromSpawn: number; // `ramdax-harness run` spawned → first command (boot point event)
  harnessWall: number; // whole `run` (steps and shutdown included)
  rawFirstCmd: number;
  rawWall: number; // raw: boot, `ssh true`, power off
}

async function harnessOnce(): Promise<{ firstCmd: number; fromSpawn: number; wall: number; argv: string[] }> {
  const h = await runHarness([scenario, '--ssh-port', String(port + 1), ...(kernel ? ['--kernel', kernel] : [])]);
  if (h.exitCode !== 0) throw new Error(`harness run in ${h.dir} exited ${h.exitCode}`);
  const c = h.run.cases[0];
  if (!c || c.boot.firstCommandMs === undefined || !c.qemuArgv) throw new Error(`harness run in ${h.dir} did not reach the first command (status ${c?.status}: ${c?.reason})`);
  const bootEvent = h.events.find((e) => e.type === 'boot-ended');
  return { firstCmd: c.boot.firstCommandMs, fromSpawn: bootEvent ? bootEvent.at - h.spawnedAt : NaN, wall: h.wallMs, argv: c.qemuArgv };
}

async function rawOnce(argv: string[]): Promise<{ firstCmd: number; wall: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'ramdax-bench-raw-'));
  // Whole process: from spawning the script to its exit (QEMU gone), as for the harness.
  const t0 = Date.now();
  const r = await execa(join(ROOT, 'bench', 'harness-raw-boot.sh'), [String(port), KEYS.client, KEYS.hostPub, join(dir, 'console.log'), '--', ...rawArgv(argv, port)], { env: { RAW_CMD: rawCmd } });
  const wall = Date.now() - t0;
  const m = /first_command_ms=(\d+) total_ms=(\d+)/.exec(r.stdout);
  if (!m) throw new Error(`raw script printed: ${r.stdout}`);
  return { firstCmd: Number(m[1]), wall };
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
const ratioWhole = med('harnessWall') / med('rawWall');
const pairedWhole = median(samples.map((s) => s.harnessWall / s.rawWall));
process.stdout.write(`\nharness vs raw floor: ${scenario}${kernel ? ` on ${kernel}` : ''} (raw: ${rawCmd}), ${rounds} paired rounds alternating, load before ${loadBefore}, after ${load()}\n`);
process.stdout.write(
  `${table(
    ['figure (median)', 'harness', 'raw', 'ratio'],
    [
      ['QEMU start → first command', sec(med('harnessFirstCmd')), sec(med('rawFirstCmd')), `${ratioQemu.toFixed(3)}×`],
      ['process start → first command', sec(med('harnessFromSpawn')), sec(med('rawFirstCmd')), `${ratioSpawn.toFixed(3)}×`],
      ['whole process (start → exit)', sec(med('harnessWall')), sec(med('rawWall')), `${ratioWhole.toFixed(3)}×`],
      ['whole process, median of paired ratios', '', '', `${pairedWhole.toFixed(3)}×`],
    ],
  )}\n`,
);
process.stdout.write(`target ≤ 1.15×: QEMU start → first command ${ratioQemu <= 1.15 ? 'met' : 'NOT met'}; whole process ${pairedWhole <= 1.15 ? 'met' : 'NOT met'}\n`);
await record(
  'harness-vs-raw',
  `${scenario}${kernel ? ` on ${kernel}` : ''}, ${rounds} paired rounds: whole process harness ${sec(med('harnessWall'))} vs raw script ${sec(med('rawWall'))} → ${ratioWhole.toFixed(3)}× (median of paired ratios ${pairedWhole.toFixed(3)}×); first command harness ${sec(med('harnessFirstCmd'))} (from process start ${sec(med('harnessFromSpawn'))}) vs raw ${sec(med('rawFirstCmd'))} → ${ratioQemu.toFixed(3)}×`,
);
