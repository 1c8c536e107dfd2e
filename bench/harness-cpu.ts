// Benchmark: host CPU used by the harness's own node process (not QEMU, not
// ssh) while a VM runs. Samples /proc/<pid>/stat utime+stime of the node
// process every 100 ms; the "VM window" is while a qemu child process exists.
// Usage: npx tsx bench/harness-cpu.ts [--scenario scenarios/boot-smoke.yaml] [--rounds 1]
import { readFile, readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { flag, load, median, readRunDir, record, sec, startHarness, table, tempResults } from './harness-common.js';

const scenario = flag('scenario', 'scenarios/boot-smoke.yaml');
const rounds = Number(flag('rounds', '1'));
const TICK = 100; // USER_HZ on Linux: /proc/<pid>/stat counts in 1/100 s

/** utime + stime of one process in ms (its own CPU, children not included). */
async function cpuMs(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!stat) return undefined;
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICK;
}

/** Whether `pid` has a qemu child right now. */
async function hasQemuChild(pid: number): Promise<boolean> {
  for (const t of await readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
    const kids = (await readFile(`/proc/${pid}/task/${t}/children`, 'utf8').catch(() => '')).split(' ').filter(Boolean);
    for (const k of kids) if ((await readFile(`/proc/${k}/comm`, 'utf8').catch(() => '')).startsWith('qemu')) return true;
  }
  return false;
}

interface Round {
  wallMs: number;
  cpuMs: number;
  vmWallMs: number;
  vmCpuMs: number;
}

async function once(): Promise<Round> {
  const root = await tempResults('cpu');
  const t0 = Date.now();
  const p = startHarness([scenario], root);
  const pid = p.pid!;
  let last = 0;
  let vmStart: { at: number; cpu: number } | undefined;
  let vmEnd: { at: number; cpu: number } | undefined;
  let done = false;
  void p.finally(() => (done = true));
  while (!done) {
    const c = await cpuMs(pid);
    if (c === undefined) break;
    last = c;
    const q = await hasQemuChild(pid);
    const now = Date.now();
    if (q && !vmStart) vmStart = { at: now, cpu: c };
    if (q && vmStart) vmEnd = { at: now, cpu: c };
    await sleep(100);
  }
  await p;
  const { run } = await readRunDir(root);
  if (run.cases[0]?.status !== 'pass') process.stderr.write(`note: case ended ${run.cases[0]?.status}: ${run.cases[0]?.reason ?? ''}\n`);
  return { wallMs: Date.now() - t0, cpuMs: last, vmWallMs: vmStart && vmEnd ? vmEnd.at - vmStart.at : NaN, vmCpuMs: vmStart && vmEnd ? vmEnd.cpu - vmStart.cpu : NaN };
}

const before = load();
const rs: Round[] = [];
for (let i = 0; i < rounds; i++) {
  rs.push(await once());
  const r = rs.at(-1)!;
  process.stderr.write(`round ${i + 1}/${rounds}: VM window ${sec(r.vmWallMs)}, harness CPU in it ${sec(r.vmCpuMs)} (${((100 * r.vmCpuMs) / r.vmWallMs).toFixed(2)} %)\n`);
}
const m = (k: keyof Round) => median(rs.map((r) => r[k]));
const vmPct = (100 * m('vmCpuMs')) / m('vmWallMs');
const allPct = (100 * m('cpuMs')) / m('wallMs');
process.stdout.write(`\nharness CPU (node process only): ${scenario}, ${rounds} round(s), load before ${before}, after ${load()}\n`);
process.stdout.write(
  `${table(
    ['window (median)', 'wall', 'harness CPU', '% of a core'],
    [
      ['while the VM runs', sec(m('vmWallMs')), sec(m('vmCpuMs')), `${vmPct.toFixed(2)} %`],
      ['whole run (startup, tsx, setup checks)', sec(m('wallMs')), sec(m('cpuMs')), `${allPct.toFixed(2)} %`],
    ],
  )}\n`,
);
process.stdout.write(`target < 3 % of a core while the VM runs: ${vmPct < 3 ? 'met' : 'NOT met'}\n`);
await record('harness-cpu', `${scenario}, ${rounds} round(s): ${sec(m('vmCpuMs'))} CPU over ${sec(m('vmWallMs'))} with a VM = ${vmPct.toFixed(2)} % of a core; whole run ${allPct.toFixed(2)} %`);
