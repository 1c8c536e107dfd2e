import { startVmLifecycle } from '../vm/lifecycle.js';
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { loadCatalog, type Catalog } from '../catalog/catalog.js';
import type { KernelDef } from '../catalog/schema.js';
import { describeError, HarnessError, inputError } from '../common/errors.js';
import { ExitCode } from '../common/exit-codes.js';
import { stderrLogger } from '../common/log.js';
import { projectRoot } from '../common/paths.js';
import { kernelRoot, type KernelArtifact } from '../setup/artifacts.js';
import { sshGap, summarize } from '../setup/capabilities.js';
import { capabilitiesOf } from '../setup/detect.js';
import { ensureKernel, kindOf } from '../setup/kernels.js';
import { cacheOption } from './options.js';
import { patchLabel } from '../build/patch-series.js';
import type { SourceKernelArtifact } from '../build/source-kernel.js';
import { resolveKernelArgs, type AdhocKernel } from './kernel-ref.js';
import { ensureAdhocKernels } from './adhoc-kernels.js';
import { collect } from './run-command.js';
import { registerGc } from './gc-command.js';

type Def = KernelDef & { file: string };

/** The definition of `name`, or bad input (exit 2) naming every known kernel. */
export function kernelDef(catalog: Catalog, name: string): Def {
  const def = catalog.kernels.get(name);
  if (!def) throw inputError(`unknown kernel '${name}' (known: ${[...catalog.kernels.keys()].join(', ') || 'none'})`, 'kernels are defined in kernels/*.yaml');
  return def;
}

/** The artifact `kernel fetch`/`build`/`setup` last made for `name`, or undefined. */
export async function cachedKernel(cacheDir: string, name: string): Promise<KernelArtifact | undefined> {
  try {
    return JSON.parse(await readFile(join(kernelRoot(cacheDir, name), 'current.json'), 'utf8')) as KernelArtifact;
  } catch {
    return undefined;
  }
}

/** Where a definition says the kernel comes from, in one line. Pure. */
export function describeOrigin(def: Def): string {
  if (def.debian) return `debian ${def.debian.version ?? `${def.debian.series}.x`} ${def.debian.flavour} from ${def.debian.suites.join(', ')}${def.debian.modules ? ', with modules' : ', vmlinuz only'}`;
  if (def.local) return `local ${def.local.vmlinuz}${def.local.modules ? ` + modules ${def.local.modules}` : ''}${def.local.config ? ` + config ${def.local.config}` : ''}`;
  const s = def.source!;
  return `source ${typeof s.tree === 'string' ? s.tree : `linux-source-${s.tree.debian.series}`}, base ${s.base}${s.fragments.length ? ` + ${s.fragments.join(', ')}` : ''}`;
}

/** One row of `kernel list`. Pure. */
export function listRow(def: Def, a: KernelArtifact | undefined): { name: string; kind: string; release: string; ramdax: string } {
  return { name: def.name, kind: kindOf(def), release: a?.release ?? 'not fetched', ramdax: a ? capabilitiesOf(a).options.RAMDAX : 'unknown' };
}

export function formatTable(rows: Record<string, string>[]): string {
  if (!rows.length) return '';
  const keys = Object.keys(rows[0]!);
  const width = keys.map((k) => Math.max(k.length, ...rows.map((r) => r[k]!.length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(width[i]!)).join('  ').trimEnd();
  return [line(keys.map((k) => k.toUpperCase())), ...rows.map((r) => line(keys.map((k) => r[k]!)))].join('\n') + '\n';
}

/** `kernel info` text. Pure. */
export function formatInfo(def: Def, a: KernelArtifact | undefined, cacheDir: string, adhoc?: AdhocKernel): string {
  const out = [`name:        ${def.name}`, `kind:        ${kindOf(def)}`, `definition:  ${adhoc ? `command line (--kernel ${adhoc.ref}${adhoc.patches.length ? ' --patch …' : ''})` : relative(projectRoot, def.file)}`, `origin:      ${adhoc ? adhoc.describe : describeOrigin(def)}`];
  for (const p of adhoc?.patches ?? []) out.push(`  patch ${patchLabel(p)}: ${p.subject} (sha256 ${p.sha256.slice(0, 12)}${p.patchId ? `, patch-id ${p.patchId.slice(0, 12)}` : ''})`);
  if (def.description) out.push(`description: ${def.description}`);
  if (!a) {
    out.push(`release:     not ${kindOf(def) === 'source' ? 'built' : 'fetched'} (run \`ramdax-harness kernel ${kindOf(def) === 'source' ? 'build' : 'fetch'} ${adhoc ? adhoc.ref + (adhoc.patches.length ? ' --patch …' : '') : def.name}\`)`, `cache:       ${kernelRoot(cacheDir, def.name)}`);
    return `${out.join('\n')}\n`;
  }
  const c = capabilitiesOf(a);
  out.push(`release:     ${a.release}`, `source:      ${a.source}`, `cache:       ${a.dir}`, `fetched:     ${a.createdAt}`);
  out.push(`boot:        ${c.ssh.reachable ? `to SSH (${a.initrd ? 'harness initramfs + modules disk' : 'root=/dev/vda, no initrd'})` : `console only (${sshGap(c)})`}`);
  out.push(`ramdax:      ${c.options.RAMDAX}`);
  out.push(`capabilities (${c.from}): ${summarize(c)}`);
  for (const [k, v] of Object.entries(c.options)) out.push(`  CONFIG_${k}: ${v}`);
  for (const e of c.evidence) out.push(`  - ${e}`);
  out.push('sha256:');
  for (const [f, h] of Object.entries(a.sha256)) out.push(`  ${f}: ${h}`);
  const b = (a as Partial<SourceKernelArtifact>).build;
  if (b) {
    out.push('build:', `  revision:   ${b.revision}`, `  config:     ${b.base}${b.fragments.length ? ` + ${b.fragments.join(' + ')}` : ''}${b.configReused ? ' (Kconfig not re-run: nothing it reads changed)' : ''}`);
    for (const p of b.patches) out.push(`  patch:      ${p.subject ?? p.file} (${p.file}${p.index && p.index > 1 ? `#${p.index}` : ''}, sha256 ${p.sha256.slice(0, 12)}${p.patchId ? `, patch-id ${p.patchId.slice(0, 12)}` : ''})`);
    if (b.srcDir) out.push(`  work tree:  ${b.srcDir}`);
    out.push(`  objects:    ${b.objDir}`, `  make:       ${b.wallSeconds} s, ${b.objects} C files compiled${b.ccache ? ` (ccache ${b.ccache.hits} hits, ${b.ccache.misses} misses)` : ''}`);
    if (b.synced) out.push(`  synced:     ${b.synced.count} file(s) rewritten in ${b.synced.seconds} s${b.synced.files.length ? `: ${b.synced.files.slice(0, 6).join(', ')}${b.synced.count > 6 ? ', …' : ''}` : ''}`);
    out.push(`  log:        ${b.log}`);
  }
  return `${out.join('\n')}\n`;
}

/** Run ensureKernel for `kernel fetch`/`build`; anything but bad input becomes a fetch failure (exit 3). */
async function obtain(def: Def, o: { cache: string; refresh: boolean; qemu: string }, verb: string): Promise<string> {
  const started = Date.now();
  try {
    const { artifact, cached } = await ensureKernel(def, o.cache, stderrLogger(), { refresh: o.refresh, qemu: o.qemu });
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    return `kernel ${def.name}: ${artifact.release} ${cached ? 'already cached' : `${verb} in ${secs}s`} in ${artifact.dir}\n  ${summarize(capabilitiesOf(artifact))}\n`;
  } catch (err) {
    if (err instanceof HarnessError) throw err;
    throw new HarnessError('infra', `kernel ${def.name}: ${verb === 'built' ? 'build' : 'fetch'} failed: ${describeError(err)}`, { cause: err });
  }
}

export function registerKernel(program: Command, setExit: (code: number) => void): void {
  const kernel = program.command('kernel').description('list, fetch, build and inspect the kernels of kernels/*.yaml (debian:, local:, source:)');
  kernel
    .command('list')
    .description('every kernel definition: name, kind, cached release (or "not fetched"), ramdax availability')
    .addOption(cacheOption())
    .option('--json', 'machine-readable output', false)
    .action(async (o: { cache: string; json: boolean }) => {
      const catalog = await loadCatalog();
      const rows = [];
      for (const def of catalog.kernels.values()) rows.push(listRow(def, await cachedKernel(o.cache, def.name)));
      process.stdout.write(o.json ? `${JSON.stringify(rows, null, 2)}\n` : formatTable(rows));
      setExit(ExitCode.ok);
    });
  const fetchLike = (verb: 'fetch' | 'build') =>
    kernel
      .command(verb)
      .argument('<name|path>', 'a kernel name from kernels/*.yaml, or the path of a bzImage (fetch) or a kernel source tree (build)')
      .addOption(cacheOption())
      .option('--refresh', 'refresh the private apt lists even if they are less than a day old', false)
      .option('--qemu <binary>', 'QEMU used to probe a kernel that has neither config nor modules', 'qemu-system-x86_64')
      .option('--patch <file>', 'build with this patch on top (format-patch file or mbox); repeatable', collect, [] as string[])
      .option('--modules <dir>', 'with a bzImage path: its modules')
      .option('--kernel-config <file>', 'with a path: the bzImage\'s .config, or the base config of a tree')
      .option('--coverage', 'build the coverage variant NAME-cov: gcov for drivers/nvdimm and drivers/dax, fault injection (docs/coverage.md)', false)
      .action(async (ref: string, o: { cache: string; refresh: boolean; qemu: string; patch: string[]; modules?: string; kernelConfig?: string; coverage: boolean }) => {
        const r = await resolveKernelArgs(await loadCatalog(), { kernel: [ref], patch: o.patch, modules: o.modules, kernelConfig: o.kernelConfig, cacheDir: o.cache, asArgument: true, coverage: o.coverage });
        const name = r.names[0]!;
        const def = kernelDef(r.catalog, name);
        // A fetch may boot the kernel once to probe it: same lifetime rules as a run.
        await startVmLifecycle(o.cache, stderrLogger());
        const isSource = kindOf(def) === 'source';
        if (verb === 'fetch' && isSource) throw inputError(`kernel '${ref}' is built from source: use \`ramdax-harness kernel build ${ref}\``);
        if (verb === 'build' && !isSource) throw inputError(`kernel '${ref}' is a ${kindOf(def)} kernel, not built from source: use \`ramdax-harness kernel fetch ${ref}\``);
        const adhoc = r.adhoc.find((k) => k.name === name);
        if (adhoc) {
          const started = Date.now();
          const a = (await ensureAdhocKernels([adhoc], o.cache, stderrLogger(), { qemu: o.qemu })).get(name)!;
          process.stdout.write(`kernel ${name}: ${a.release} ready in ${((Date.now() - started) / 1000).toFixed(1)}s in ${a.dir}\n  ${summarize(capabilitiesOf(a))}\n`);
        } else process.stdout.write(await obtain(def, o, verb === 'build' ? 'built' : 'fetched'));
        setExit(ExitCode.ok);
      });
  fetchLike('fetch').description('download (debian:) or import (local:) a kernel into the cache, detect what it offers; failures exit 3');
  fetchLike('build').description('build a source: kernel out of tree, cached by source + config; failures exit 3');
  kernel
    .command('info')
    .description('release, source, cache path, sha256 per file, ramdax availability and capabilities of a kernel; how a built one was built (revision, patches, work tree)')
    .argument('[name|path]', 'a kernel name from kernels/*.yaml, or a bzImage or kernel tree path (as run --kernel)')
    .addOption(cacheOption())
    .option('--kernel <name|path>', 'the same, as run spells it')
    .option('--patch <file>', 'as run --patch', collect, [] as string[])
    .option('--modules <dir>', 'as run --modules')
    .option('--kernel-config <file>', 'as run --kernel-config')
    .option('--json', 'the cached manifest as JSON', false)
    .action(async (arg: string | undefined, o: { cache: string; json: boolean; kernel?: string; patch: string[]; modules?: string; kernelConfig?: string }) => {
      if (!arg === !o.kernel) throw inputError(arg ? 'give the kernel once: as an argument or with --kernel, not both' : 'which kernel? give a name or path (or --kernel NAME|PATH)');
      const ref = (arg ?? o.kernel)!;
      const r = await resolveKernelArgs(await loadCatalog(), { kernel: [ref], patch: o.patch, modules: o.modules, kernelConfig: o.kernelConfig, cacheDir: o.cache, asArgument: true });
      const name = r.names[0]!;
      const def = kernelDef(r.catalog, name);
      const adhoc = r.adhoc.find((k) => k.name === name);
      const a = await cachedKernel(o.cache, name);
      process.stdout.write(o.json ? `${JSON.stringify({ name, kind: kindOf(def), file: adhoc ? null : def.file, ref: adhoc?.ref, artifact: a ?? null }, null, 2)}\n` : formatInfo(def, a, o.cache, adhoc));
      setExit(ExitCode.ok);
    });
  registerGc(kernel, setExit);
}
