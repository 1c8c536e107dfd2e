// Totals of bench/int3-boots.ts's per-boot lines (all chunks): boots, `Oops: int3`, other findings, per mode and load band.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { flag, ROOT, table } from './harness-common.js';

interface Boot {
  at: string;
  mode: string;
  burners: number;
  load1: number;
  outcome: 'clean' | 'int3' | 'other' | 'timeout';
  guestAt?: string;
  rip?: string;
}

const file = flag('in', join(ROOT, 'bench', 'int3-boots.jsonl'));
const boots = (await readFile(file, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Boot);
const by = new Map<string, Boot[]>();
for (const b of boots) by.set(b.mode, [...(by.get(b.mode) ?? []), b]);
const rows = [...by.entries()].map(([mode, bs]) => {
  const int3 = bs.filter((b) => b.outcome === 'int3').length;
  const loads = bs.map((b) => b.load1).sort((a, b) => a - b);
  return [mode, bs.length, int3, bs.filter((b) => b.outcome === 'other').length, bs.filter((b) => b.outcome === 'timeout').length, int3 ? `1 in ${(bs.length / int3).toFixed(0)}` : '0', `${loads[0]?.toFixed(1)}–${loads.at(-1)?.toFixed(1)} (median ${loads[loads.length >> 1]?.toFixed(1)})`];
});
process.stdout.write(`${boots.length} boots, ${boots[0]?.at} – ${boots.at(-1)?.at}\n`);
process.stdout.write(`${table(['mode', 'boots', 'Oops: int3', 'other', 'timeout', 'rate', '1-min load'], rows)}\n`);
const rips = new Map<string, number>();
for (const b of boots) if (b.rip) rips.set(b.rip, (rips.get(b.rip) ?? 0) + 1);
if (rips.size) process.stdout.write(`\nwhere (RIP): ${[...rips.entries()].map(([r, n]) => `${n}× ${r}`).join('; ')}\n`);
