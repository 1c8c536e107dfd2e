// Benchmark: virtme-ng vs the harness, one trivial guest command on the same
// kernel. vng: `vng --run <vmlinuz> --disable-kvm --exec true` (the host's
// root over 9p, modules from the kernel's own tree). Harness: `run` of a
// one-step scenario (`run: "true"`) on its default kernel. Alternates, prints
// medians and the ratio.
// Usage: npx tsx bench/harness-vs-vng.ts [--rounds 3] [--kernel-dir DIR]
// The kernel: Debian's 7.2.13 vmlinuz + modules unpacked from the harness's
// cached .debs into --kernel-dir (default /tmp/ramdax-bench-vng-kernel) so vng
// finds the modules next to the image (usr/lib/modules/<ver>/), the host untouched.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { CACHE, flag, load, median, record, runHarness, sec, table, tempResults } from './harness-common.js';

const rounds = Number(flag('rounds', '3'));
const kdir = flag('kernel-dir', join(tmpdir(), 'ramdax-bench-vng-kernel'));

async function kernelImage(): Promise<{ vmlinuz: string; release: string }> {
  const debs = join(CACHE, 'debs');
  const all = await readdir(debs);
  const binary = all.find((f) => /^linux-binary-7\.2\.[\d]+\+deb\d+-amd64_.*\.deb$/.test(f));
  if (!binary) throw new Error(`no linux-binary-7.2 .deb in ${debs}: run \`ramdax-harness setup\` first`);
  const release = binary.replace(/^linux-binary-/, '').replace(/_.*$/, '');
  const vmlinuz = join(kdir, 'usr', 'lib', 'modules', release, 'vmlinuz');
  await mkdir(kdir, { recursive: true });
  for (const part of ['binary', 'modules', 'base']) {
    const deb = all.find((f) => f.startsWith(`linux-${part}-${release}_`));
    if (deb) await execa('dpkg-deb', ['-x', join(debs, deb), kdir]);
  }
  return { vmlinuz, release };
}

async function vngOnce(vmlinuz: string, release: string): Promise<number> {
  // vng hands its stdout/stderr to the guest through /proc/self/fd: give it files, not pipes…
  const out = join(await tempResults('vng-out'), 'vng.log');
  const t0 = Date.now();
  // vng 1.41 here (no terminal) falls back to "limited redirection" and loses the command's output and
  // exit status (it exits 255 even with a pty from `script`); --verbose shows the guest console, where the
  // command's output appears: that is the proof it ran.
  const r = await execa('vng', ['--run', vmlinuz, '--disable-kvm', '--verbose', '--exec', 'uname -r'], { reject: false, stdin: 'ignore', stdout: { file: out }, stderr: { file: out }, cwd: tmpdir(), timeout: 1800_000 });
  const wall = Date.now() - t0;
  const log = await readFile(out, 'utf8');
  // vng may exit non-zero after a successful command (slow power-off under load): the command's output is the proof it ran.
  if (!log.split('\n').some((l) => l.trim() === release)) throw new Error(`vng did not run the command (exit ${r.exitCode}), see ${out}: ${log.split('\n').slice(-5).join(' | ')}`);
  if (r.exitCode !== 0) process.stderr.write(`note: vng exited ${r.exitCode} after running the command\n`);
  return wall;
}

const scenarioDir = await tempResults('vng-scenario');
const scenario = join(scenarioDir, 'trivial.yaml');
await writeFile(scenario, 'name: trivial\ndescription: one trivial guest command (bench/harness-vs-vng.ts)\nsteps:\n  - run: "true"\n');

async function harnessOnce(): Promise<number> {
  const h = await runHarness([scenario]);
  if (h.exitCode !== 0) throw new Error(`harness run in ${h.dir} exited ${h.exitCode}`);
  return h.wallMs;
}

const { vmlinuz, release } = await kernelImage();
const before = load();
const hs: number[] = [];
const vs: number[] = [];
for (let i = 0; i < rounds; i++) {
  for (const side of i % 2 === 0 ? ['harness', 'vng'] : ['vng', 'harness']) {
    if (side === 'harness') hs.push(await harnessOnce());
    else vs.push(await vngOnce(vmlinuz, release));
  }
  process.stderr.write(`round ${i + 1}/${rounds}: harness ${sec(hs.at(-1)!)}, vng ${sec(vs.at(-1)!)}\n`);
}
const ratio = median(hs) / median(vs);
process.stdout.write(`\none trivial guest command, kernel ${release} (Debian vmlinuz; vng: + its modules), TCG, ${rounds} round(s), load before ${before}, after ${load()}\n`);
process.stdout.write(`${table(['figure (median wall)', 'time'], [['ramdax-harness run (one `true`)', sec(median(hs))], ['vng --run --disable-kvm --exec', sec(median(vs))], ['ratio harness / vng', `${ratio.toFixed(3)}×`]])}\n`);
await record('harness-vs-vng', `${release} (Debian vmlinuz, vng with its modules), ${rounds} round(s): harness ${sec(median(hs))} vs vng ${sec(median(vs))} → ${ratio.toFixed(3)}×`);
