/**
 * From a bug report to a scenario (pure): a console log or dmesg pasted from
 * a report gives the kernel command line (memmap= carve-outs, other
 * arguments), the kernel release, the guest's RAM and CPUs, and the kernel
 * finding. The scenario boots the same carve-outs, binds ramdax, runs the
 * steps the trace suggests (a person checks and completes them) and expects
 * the finding: `expect: { finding: TITLE }`.
 */
import { stringify } from 'yaml';
import { formatSize } from '../common/units.js';
import { parseMemmapArg, unbackedReason } from './memmap.js';
import { findFindings, titleFor, type Finding } from '../triage/findings.js';
import { baseFunction, framesOf } from '../triage/trace.js';

export interface ConsoleFacts {
  release?: string;
  cmdline?: string;
  /** memmap= values with `!` (the carve-outs), as written. */
  memmap: string[];
  /** Other arguments, without the ones the harness always sets. */
  extraArgs: string[];
  /** Arguments the harness cannot take over (memmap= of other kinds). */
  dropped: string[];
  memoryBytes?: number;
  cpus?: number;
  machine?: 'pc' | 'q35';
  finding?: Finding;
}

/** What the harness puts on every command line (baseCmdline): not copied from a report. */
const HARNESS_ARGS = new Set(['console=ttyS0,115200', 'root=/dev/vda', 'rw', 'init=/sbin/harness-init', 'panic=-1', 'panic=0', 'printk.time=1', 'random.trust_cpu=on']);
const BOOTLOADER = /^(BOOT_IMAGE|initrd)=/;

const TIMESTAMP = /^\s*(<\d+>)?\s*\[\s*\d+\.\d+\]\s?/;

export function consoleFacts(text: string): ConsoleFacts {
  const lines = text.replace(/\r/g, '').split('\n');
  const body = lines.map((l) => l.replace(TIMESTAMP, ''));
  const release = body.map((l) => /^Linux version (\S+)/.exec(l)?.[1]).find(Boolean);
  const cmdline = body.map((l) => /^(?:Kernel )?[Cc]ommand line: (.*)$/.exec(l)?.[1]?.trim()).find(Boolean);
  const memmap: string[] = [];
  const extraArgs: string[] = [];
  const dropped: string[] = [];
  for (const arg of (cmdline ?? '').split(/\s+/).filter(Boolean)) {
    if (arg.startsWith('memmap=')) {
      const v = arg.slice('memmap='.length);
      if (typeof parseMemmapArg(v) !== 'string') memmap.push(v);
      else dropped.push(arg);
    } else if (!HARNESS_ARGS.has(arg) && !BOOTLOADER.test(arg)) extraArgs.push(arg);
  }
  // Guest RAM: the firmware's map (before memmap= changed it), rounded up to 128 MiB.
  let ram = 0;
  for (const l of body) {
    const m = /^BIOS-e820: \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\] usable|^BIOS-e820: \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\]\s+System RAM/.exec(l);
    if (m) ram += parseInt(m[2] ?? m[4]!, 16) - parseInt(m[1] ?? m[3]!, 16) + 1;
  }
  const step = 128 * 2 ** 20;
  const cpus = Number(body.map((l) => /^smp: Brought up \d+ nodes?, (\d+) CPUs?/.exec(l)?.[1]).find(Boolean)) || undefined;
  const dmi = body.find((l) => /^DMI: QEMU/.test(l));
  const findings = findFindings(lines);
  // The report that matters: the first that is not a bare call trace.
  const finding = findings.find((f) => f.type !== 'call-trace') ?? findings[0];
  return {
    release,
    cmdline,
    memmap,
    extraArgs,
    dropped,
    memoryBytes: ram ? Math.ceil(ram / step) * step : undefined,
    cpus,
    machine: dmi ? (/Q35/i.test(dmi) ? 'q35' : 'pc') : undefined,
    finding,
  };
}

/** Steps the trace suggests: a devdax or fsdax namespace, a file system (to be checked by a person). */
export function suggestedSteps(f: Finding | undefined, carveOutBytes: number): { steps: unknown[]; why: string } {
  const fns = f ? framesOf(f.report ?? f.context).map((x) => baseFunction(x.fn)) : [];
  const has = (re: RegExp) => fns.some((fn) => re.test(fn));
  const size = formatSize(Math.max(4 * 2 ** 20, Math.min(256 * 2 ** 20, 2 ** Math.floor(Math.log2(Math.max(1, carveOutBytes / 4))))));
  const steps: unknown[] = [{ ramdax: {} }];
  if (has(/^(dev_dax_probe|__?dax_pmem_probe|devm_create_dev_dax|dax_bus_probe)$/)) {
    steps.push({ namespace: { mode: 'devdax', size, align: '2M', as: 'dd' } });
    return { steps, why: 'the trace goes through dev_dax_probe: a devdax namespace' };
  }
  const fs = has(/^xfs_/) ? 'xfs' : has(/^(ext4_|jbd2_)/) || has(/^(mnt_want_write|freeze_super)$/) ? 'ext4' : undefined;
  if (has(/^(pmem_|nd_pmem|__pmem)/) || fs) {
    steps.push({ namespace: { mode: 'fsdax', size: fs === 'xfs' ? '512M' : size, align: '2M', as: 'pm' } });
    if (fs) steps.push({ mkfs: { fs, device: 'pm' } }, { mount: { device: 'pm', at: '/mnt/pmem', options: 'dax=always' } });
    return { steps, why: fs ? `the trace is in ${fs}: an fsdax namespace with ${fs} mounted -o dax` : 'the trace is in the pmem driver: an fsdax namespace' };
  }
  return { steps, why: f ? 'the trace suggests no step beyond the bind' : 'no kernel finding in the log' };
}

/** The scenario YAML for a console log; `kernel` is a kernels/*.yaml name (chosen by the caller from the release). */
export function scenarioFromConsole(text: string, o: { name: string; kernel: string; source: string; kernelNote?: string }): { yaml: string; facts: ConsoleFacts } {
  const f = consoleFacts(text);
  const title = f.finding ? titleFor(f.finding) : undefined;
  const carve = f.memmap.map((m) => parseMemmapArg(m)).flatMap((x) => (typeof x === 'string' ? [] : x));
  const memory = f.memoryBytes ?? 4 * 2 ** 30;
  const machine: Record<string, unknown> = {};
  if (f.memoryBytes && f.memoryBytes !== 4 * 2 ** 30) machine.memory = formatSize(f.memoryBytes);
  if (f.cpus && f.cpus !== 2) machine.cpus = Math.min(64, f.cpus);
  if (f.machine === 'q35') machine.type = 'q35';
  const unbacked = carve.some((c) => unbackedReason(c, memory, f.machine ?? 'pc'));
  const { steps, why } = suggestedSteps(f.finding, Math.max(0, ...carve.map((c) => c.size)));
  const doc: Record<string, unknown> = {
    name: o.name,
    description: `From ${o.source}: ${title ?? 'no kernel finding'} on ${f.release ?? 'an unknown kernel'}`,
    kernel: o.kernel,
    ...(Object.keys(machine).length ? { machine } : {}),
    ...(f.memmap.length ? { memmap: f.memmap.length === 1 ? f.memmap[0] : f.memmap } : {}),
    ...(unbacked ? { allowUnbackedMemmap: true } : {}),
    ...(f.extraArgs.length ? { cmdline: f.extraArgs } : {}),
    ...(title ? { expect: { finding: title } } : {}),
    steps,
  };
  const frames = f.finding ? framesOf(f.finding.report ?? []).filter((x) => !x.unreliable && !x.rip).slice(0, 8).map((x) => baseFunction(x.fn)) : [];
  const comm = f.finding ? /\bComm: (\S+)|CPU#\d+: ([^/\s]+)\//.exec((f.finding.report ?? []).join('\n')) : null;
  const header = [
    `# Made by \`ramdax-harness new --from-console\` from ${o.source}.`,
    `# Kernel in the log: ${f.release ?? '(no "Linux version" line)'}${o.kernelNote ? ` — ${o.kernelNote}` : ''}`,
    `# Command line: ${f.cmdline ?? '(none found)'}`,
    ...(f.dropped.length ? [`# Not taken over (the harness cannot set these): ${f.dropped.join(' ')}`] : []),
    ...(title ? [`# Finding: ${title}${comm ? ` (in ${comm[1] ?? comm[2]})` : ''}`] : ['# No kernel finding in the log: expect: is left out.']),
    ...(frames.length ? [`# Trace: ${frames.join(' < ')}`] : []),
    `# Steps: ${why}. Check them against the report and add what the reporter ran;`,
    '# then `ramdax-harness run` this file: exit 0 while the kernel still shows the finding.',
  ];
  return { yaml: `${header.join('\n')}\n${stringify(doc, { lineWidth: 0 })}`, facts: f };
}
