// The int3 question: how often does an early boot die with `Oops: int3` under
// TCG, per TCG thread mode and -cpu model, on a loaded host? Boots a kernel's
// console-only probe (the harness's own console-boot path: kernel, busybox
// initramfs, report, power-off) N times per mode, interleaved, while K CPU
// burners load the host. Prints counts; one JSON line per boot goes to --out.
// Run it under the shared lock, in chunks:
//   flock /tmp/ramdax-heavy.lock npx tsx bench/int3-boots.ts --boots 20 --modes multi:max,single:max
import { appendFile, copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { currentKernel } from '../harness/setup/artifacts.js';
import { consoleCmdline, consoleVmSpec, ensureProbeInitramfs } from '../harness/setup/probe.js';
import { findFindings } from '../harness/triage/findings.js';
import { freeLoopbackPort } from '../harness/vm/ports.js';
import { QemuVm } from '../harness/vm/qemu.js';
import { CACHE, flag, load, ROOT, table } from './harness-common.js';

interface Mode {
  label: string;
  thread: 'multi' | 'single';
  cpu: string;
}

type Outcome = 'clean' | 'int3' | 'other' | 'timeout';

const boots = Number(flag('boots', '20'));
const burners = Number(flag('burners', '2'));
const kernelName = flag('kernel', 'debian-7.2');
const cpus = Number(flag('cpus', '2'));
const out = flag('out', join(ROOT, 'bench', 'int3-boots.jsonl'));
const modes: Mode[] = flag('modes', 'multi:max,single:max,multi:qemu64')
  .split(',')
  .map((m) => {
    const [thread, cpu] = m.split(':') as ['multi' | 'single', string];
    return { label: `thread=${thread} -cpu ${cpu}`, thread, cpu };
  });

/** Where an `Oops: int3` console is kept (the first of a run), for the golden-console corpus. */
const keepDir = join(ROOT, 'bench', 'int3-consoles');

async function bootOnce(mode: Mode, vmlinuz: string, initrd: string, work: string, n: number) {
  const consoleFile = join(work, `boot-${n}.log`);
  const spec = {
    ...consoleVmSpec({ qemu: 'qemu-system-x86_64', vmlinuz, initrd, cmdline: consoleCmdline(['memmap=1G!4G']), memoryBytes: 4 * 1024 ** 3, cpus, machine: 'pc', name: `ramdax-bench:int3:${n}`, sshPort: await freeLoopbackPort() }),
    tcgThread: mode.thread,
    cpuModel: mode.cpu,
  };
  const vm = QemuVm.start(spec, consoleFile);
  const exited = await vm.waitExit(120_000);
  if (!exited) await vm.stop(0);
  await vm.exit;
  const lines = vm.console.linesFrom(0).map((l) => l.text);
  const findings = findFindings(lines);
  const int3 = lines.findIndex((l) => /Oops: int3/.test(l));
  const outcome: Outcome = int3 >= 0 ? 'int3' : findings.length ? 'other' : exited && lines.some((l) => /reboot: Power down/.test(l)) ? 'clean' : 'timeout';
  const at = int3 >= 0 ? /\[\s*(\d+\.\d+)\]/.exec(lines[int3]!)?.[1] : undefined;
  const rip = int3 >= 0 ? lines.slice(int3).find((l) => /RIP: /.test(l))?.replace(/^.*RIP: /, '') : undefined;
  return { outcome, wallMs: Date.now() - vm.startedAt, guestAt: at, rip, finding: findings[0]?.title, consoleFile };
}

async function main() {
  const kernel = await currentKernel(CACHE, kernelName);
  const initrd = await ensureProbeInitramfs(CACHE);
  const work = await mkdtemp(join(tmpdir(), 'ramdax-int3-'));
  const load0 = load();
  // The load: K busy loops (plain shell, no I/O), started by this process and killed by pid at the end.
  const burn: ResultPromise[] = [];
  for (let i = 0; i < burners; i++) burn.push(execa('sh', ['-c', 'while :; do :; done'], { reject: false, stdin: 'ignore' }));
  const counts = new Map(modes.map((m) => [m.label, { boots: 0, int3: 0, other: 0, timeout: 0, wallMs: 0 }]));
  const loads: number[] = [];
  try {
    for (let i = 0; i < boots; i++) {
      for (const mode of modes) {
        const n = i * modes.length + modes.indexOf(mode);
        const r = await bootOnce(mode, kernel.vmlinuz, initrd, work, n);
        const c = counts.get(mode.label)!;
        c.boots++;
        c.wallMs += r.wallMs;
        if (r.outcome !== 'clean') c[r.outcome]++;
        const l1 = Number(load().split(' ')[0]);
        loads.push(l1);
        await appendFile(out, `${JSON.stringify({ at: new Date().toISOString(), kernel: kernel.release, mode: mode.label, cpus, burners, load1: l1, ...r, consoleFile: undefined })}\n`);
        if (r.outcome !== 'clean') {
          process.stdout.write(`boot ${n} (${mode.label}): ${r.outcome}${r.guestAt ? ` at ${r.guestAt} s` : ''}${r.rip ? `, RIP ${r.rip}` : ''}${r.finding ? ` — ${r.finding}` : ''}\n`);
          await mkdir(keepDir, { recursive: true });
          await copyFile(r.consoleFile, join(keepDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${mode.thread}-${mode.cpu}-${r.outcome}.log`));
        }
        await rm(r.consoleFile, { force: true });
      }
    }
  } finally {
    for (const b of burn) b.kill('SIGKILL');
    await Promise.all(burn);
    await rm(work, { recursive: true, force: true });
  }
  const rows = [...counts.entries()].map(([label, c]) => [label, c.boots, c.int3, c.other, c.timeout, `${((c.wallMs / Math.max(1, c.boots)) / 1000).toFixed(1)} s`]);
  process.stdout.write(`\n${kernel.release}, ${cpus} vCPUs, ${burners} CPU burners; load at start ${load0}, 1-min load during boots ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}\n`);
  process.stdout.write(`${table(['mode', 'boots', 'Oops: int3', 'other finding', 'timeout', 'mean wall'], rows)}\n`);
  process.stdout.write(`per-boot lines appended to ${out}; totals over all chunks: npx tsx bench/int3-summary.ts\n`);
}

await main();
