import type { Command } from 'commander';
import { ExitCode } from '../common/exit-codes.js';
import { printable } from '../common/printable.js';
import { formatSize } from '../common/units.js';
import { formatMemmapArg, hex } from '../scenario/memmap.js';
import { planDtb } from '../vm/dtb-plan.js';
import { loadCases } from './load-cases.js';
import { join } from 'node:path';
import { loadCatalog } from '../catalog/catalog.js';
import { inputError } from '../common/errors.js';
import { projectRoot } from '../common/paths.js';
import { patchLabel } from '../kbuild/patch-series.js';
import { resolveKernelArgs } from './kernel-ref.js';
import { cacheOption, collect } from './options.js';
import { planLab } from './lab-options.js';

export function registerList(program: Command, setExit: (code: number) => void): void {
  program
    .command('list')
    .description('print the cases that would run, with kernel, machine, carve-outs and steps, without booting anything')
    .argument('[paths...]', 'scenario files or folders (default: scenarios/)')
    .option('--filter <glob>', 'only cases whose id matches this glob (repeat for more)', collect, [] as string[])
    .option('--quick', 'list the quick suite (scenarios/quick/)', false)
    .option('--kernel <name|path>', 'as `run --kernel`: a kernels/*.yaml name, a bzImage or a kernel tree (repeat for a kernel axis); nothing is built', collect, [] as string[])
    .option('--patch <file>', 'as `run --patch` (read and checked, not applied)', collect, [] as string[])
    .option('--modules <dir>', 'as `run --modules`')
    .option('--kernel-config <file>', 'as `run --kernel-config`')
    .addOption(cacheOption())
    .option('--arch <arch>', 'only cases of this guest architecture (x86_64, arm64; repeatable)', collect, [] as string[])
    .option('--json', 'machine-readable output', false)
    .option('--shard <I/N|auto>', 'as `run --shard`: only the cases of this shard')
    .option('--durations <results>', 'as `run --durations`: balance the shards by an earlier run')
    .action(async (paths: string[], o: { filter: string[]; json: boolean; kernel: string[]; patch: string[]; modules?: string; kernelConfig?: string; cache: string; quick: boolean; arch: string[]; shard?: string; durations?: string }) => {
      if (o.quick && paths.length) throw inputError('give either --quick or scenario paths, not both');
      const kernels = await resolveKernelArgs(await loadCatalog(), { kernel: o.kernel, patch: o.patch, modules: o.modules, kernelConfig: o.kernelConfig, cacheDir: o.cache });
      const loaded = await loadCases(o.quick ? [join(projectRoot, 'scenarios', 'quick')] : paths.length ? paths : ['scenarios'], o.filter, kernels.names, { catalog: kernels.catalog, arches: o.arch });
      const { cases, shard } = await planLab(loaded, { reporter: [], kcidbOrigin: 'ramdax', shard: o.shard, durations: o.durations });
      if (shard) process.stderr.write(`shard ${shard.index}/${shard.total} (${shard.source}, balanced by ${shard.balancedBy}): ${cases.length} of ${shard.planned.length} case(s)
`);
      if (!o.json) {
        for (const k of kernels.adhoc) {
          process.stdout.write(`kernel ${k.name}: ${k.describe}\n`);
          for (const p of k.patches) process.stdout.write(`  ${patchLabel(p)}: ${p.subject} (sha256 ${p.sha256.slice(0, 12)}${p.patchId ? `, patch-id ${p.patchId.slice(0, 12)}` : ''})\n`);
        }
      }
      if (o.json) {
        process.stdout.write(`${JSON.stringify(cases.map((c) => ({ id: c.id, kernelFrom: kernels.adhoc.find((k) => k.name === c.scenario.kernel)?.describe, file: c.scenario.file, kernel: c.scenario.kernel, image: c.scenario.image, machine: c.scenario.machine, memmap: c.scenario.memmap.map(formatMemmapArg), ...(c.scenario.machine.arch === 'arm64' ? { pmemRegions: planDtb(c.scenario.memmap, c.scenario.machine.memory, c.scenario.machine.carveOut).plan.nodes.map((n) => ({ node: n.name, reg: n.reg })) } : {}), cmdline: c.scenario.cmdline, steps: c.scenario.steps.map((s) => ({ kind: s.kind, name: s.name })) })), null, 2)}\n`);
      } else {
        for (const c of cases) {
          const s = c.scenario;
          process.stdout.write(`${printable(c.id)}  (${printable(s.file)})\n`);
          process.stdout.write(`  kernel ${s.kernel}, image ${s.image}, ${s.machine.arch} ${s.machine.type} ${formatSize(s.machine.memory)} RAM, ${s.machine.cpus} CPUs\n`);
          if (s.machine.arch === 'arm64') {
            // No memmap= on arm64: the carve-outs are pmem-region nodes of the device tree.
            for (const n of planDtb(s.memmap, s.machine.memory, s.machine.carveOut).plan.nodes) process.stdout.write(`  device tree: ${n.name} { compatible = "pmem-region"; reg = ${n.reg.map((c) => `${formatSize(c.size)}@${hex(c.start)}`).join(', ')} }\n`);
            process.stdout.write(`  cmdline: ${printable(s.cmdline.join(' ')) || '(harness defaults only)'}\n`);
          } else process.stdout.write(`  cmdline: ${printable([...s.memmap.map(formatMemmapArg), ...s.cmdline].join(' ')) || '(harness defaults only)'}\n`);
          for (const st of s.steps) process.stdout.write(`  ${String(st.index + 1).padStart(2)}. ${st.kind}: ${printable(st.name)}\n`);
        }
        process.stdout.write(`${cases.length} case(s)\n`);
      }
      setExit(ExitCode.ok);
    });
}
