import { open, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Catalog } from '../catalog/catalog.js';
import type { KernelDef } from '../catalog/schema.js';
import { inputError } from '../common/errors.js';
import { sha256 } from '../common/hash.js';
import { kernelsDir } from '../common/paths.js';
import { pathTreeKey } from '../build/source-kernel.js';
import { readPatchSeries, type SeriesPatch } from '../build/patch-series.js';
import { cachedKernel } from './kernel-command.js';

type Def = KernelDef & { file: string };

/** `--kernel`, `--patch`, `--modules`, `--kernel-config` as run/list/kernel take them. */
export interface KernelArgs {
  kernel: string[];
  patch?: string[];
  modules?: string;
  kernelConfig?: string;
  /** Lets a kernel made from the command line earlier be named again (repro bundles record its name). */
  cacheDir?: string;
  /** The kernel came as a command argument (`kernel info NAME`), not as --kernel: messages say so. */
  asArgument?: boolean;
  /** `--coverage`: every kernel becomes its coverage build (gcov for drivers/nvdimm and drivers/dax + fault injection). */
  coverage?: boolean;
}

/** A kernel made from the command line rather than a kernels/*.yaml definition. */
export interface AdhocKernel {
  name: string;
  def: Def;
  /** What the user typed. */
  ref: string;
  kind: 'bzimage' | 'tree' | 'patched' | 'coverage';
  patches: SeriesPatch[];
  /** One line for humans. */
  describe: string;
}

export interface ResolvedKernels {
  /** The catalog with the command-line kernels added under their names. */
  catalog: Catalog;
  /** What each --kernel resolved to, in order. */
  names: string[];
  adhoc: AdhocKernel[];
}

/** Where a command-line kernel says it comes from (fragments resolve next to it, in kernels/). */
const COMMAND_LINE = join(kernelsDir(), '(command line)');

/** x86 boot protocol: "HdrS" at 0x202 (what QEMU's -kernel needs). */
async function isBzImage(path: string): Promise<boolean> {
  const f = await open(path, 'r');
  try {
    const b = Buffer.alloc(4);
    await f.read(b, 0, 4, 0x202);
    return b.toString('latin1') === 'HdrS';
  } finally {
    await f.close();
  }
}

const looksLikePath = (v: string) => v.includes('/') || v === '.' || v === '..' || /\.(img|bin)$|^(bz|vm)[Ii]mage|^vmlinu[xz]/.test(v);

/**
 * Turn `--kernel` values into kernel names: a kernels/*.yaml name stays as
 * it is; a path to a bzImage becomes a local kernel (with --modules,
 * --kernel-config); a path to a kernel source tree becomes a source kernel
 * (tinyconfig or --kernel-config, + the ramdax fragment) built out of tree
 * in the cache. `--patch` files go on top of every source kernel given
 * (a named one keeps its own patches first). Everything is checked here,
 * before anything is built: bad input exits 2.
 */
export async function resolveKernelArgs(catalog: Catalog, a: KernelArgs, cwd = process.cwd()): Promise<ResolvedKernels> {
  const patchFiles = (a.patch ?? []).map((p) => resolve(cwd, p));
  if (patchFiles.length && !a.kernel.length) throw inputError('--patch needs --kernel: a source kernel name (e.g. source-7.2) or the path of a kernel tree', 'e.g. `run --kernel source-7.2 --patch 0001-fix.patch scenarios/quick/`');
  const patches = patchFiles.length ? await readPatchSeries(patchFiles) : [];
  const patchHash = sha256('series', ...patches.map((p) => p.content)).slice(0, 8);
  const kernels = new Map(catalog.kernels);
  const names: string[] = [];
  const adhoc: AdhocKernel[] = [];
  let usedModules = false;
  let usedConfig = false;
  for (const ref of a.kernel) {
    const def = catalog.kernels.get(ref);
    if (def) {
      if (!patches.length) {
        names.push(ref);
        continue;
      }
      if (!def.source) throw inputError(`--patch: kernel '${ref}' is a ${def.debian ? 'debian' : 'local'} kernel; patches go on a source kernel (kernels/*.yaml with source:) or a kernel tree path`);
      const name = `${ref}-p${patchHash}`;
      const own = def.source.patches.map((p) => resolve(join(def.file, '..'), p));
      const k: Def = { ...def, name, source: { ...def.source, patches: [...own, ...patchFiles] } };
      adhoc.push({ name, def: k, ref, kind: 'patched', patches, describe: `${ref} + ${patches.length} patch(es)` });
      kernels.set(name, k);
      names.push(name);
      continue;
    }
    const earlier = a.cacheDir && !patches.length && /^[a-z0-9][a-z0-9._-]*$/i.test(ref) ? await cachedKernel(a.cacheDir, ref) : undefined;
    if (earlier?.adhoc) {
      kernels.set(ref, { name: ref, file: COMMAND_LINE, local: { vmlinuz: earlier.vmlinuz } });
      names.push(ref);
      continue;
    }
    const path = resolve(cwd, ref);
    const st = await stat(path).catch(() => undefined);
    if (!st) {
      if (looksLikePath(ref)) throw inputError(`--kernel ${ref}: no such file or folder (${path})`);
      const known = [...catalog.kernels.keys()].join(', ');
      throw inputError(`${a.asArgument ? `unknown kernel '${ref}'` : `--kernel ${ref}: unknown kernel`} (known: ${known}); or give the path of a bzImage or a kernel source tree`, 'kernels are defined in kernels/*.yaml; see `ramdax-harness kernel list`');
    }
    if (st.isFile()) {
      if (!(await isBzImage(path))) throw inputError(`--kernel ${ref}: ${path} is not a bzImage (no x86 boot header) and not a kernel source tree`);
      if (patches.length) throw inputError(`--patch: --kernel ${ref} is a built kernel; give the kernel tree (or a source kernel name) to build with patches`);
      const modules = a.modules ? resolve(cwd, a.modules) : undefined;
      const config = a.kernelConfig ? resolve(cwd, a.kernelConfig) : undefined;
      for (const [flag, p] of [['--modules', modules], ['--kernel-config', config]] as const) {
        if (p && !(await stat(p).catch(() => undefined))) throw inputError(`${flag} ${p}: no such file or folder`);
      }
      usedModules ||= !!modules;
      usedConfig ||= !!config;
      const name = `path-${basename(path).replace(/[^A-Za-z0-9._-]/g, '_')}-${sha256('bzimage', path).slice(0, 8)}`;
      const k: Def = { name, file: COMMAND_LINE, local: { vmlinuz: path, ...(modules ? { modules } : {}), ...(config ? { config } : {}) } };
      adhoc.push({ name, def: k, ref, kind: 'bzimage', patches: [], describe: `bzImage ${path}${modules ? ` + modules ${modules}` : ''}${config ? ` + config ${config}` : ''}` });
      kernels.set(name, k);
      names.push(name);
      continue;
    }
    if (!(await stat(join(path, 'Makefile')).catch(() => undefined)) || !(await stat(join(path, 'Kconfig')).catch(() => undefined))) {
      throw inputError(`--kernel ${ref}: ${path} is a folder but not a kernel source tree (no Makefile and Kconfig at its top)`);
    }
    const config = a.kernelConfig ? resolve(cwd, a.kernelConfig) : undefined;
    if (config && !(await stat(config).catch(() => undefined))) throw inputError(`--kernel-config ${config}: no such file`);
    usedConfig ||= !!config;
    const name = `tree-${pathTreeKey(path)}${patches.length ? `-p${patchHash}` : ''}${config ? `-c${sha256(config).slice(0, 6)}` : ''}`;
    const k: Def = { name, file: COMMAND_LINE, source: { tree: path, base: config ?? 'tinyconfig', fragments: ['ramdax'], patches: patchFiles } };
    adhoc.push({ name, def: k, ref, kind: 'tree', patches, describe: `tree ${path}, ${config ? `config ${config}` : 'tinyconfig'} + ramdax fragment${patches.length ? ` + ${patches.length} patch(es)` : ''}` });
    kernels.set(name, k);
    names.push(name);
  }
  if (a.coverage) withCoverage(kernels, names, adhoc);
  if (a.modules && !usedModules) throw inputError('--modules goes with --kernel PATH-to-a-bzImage (a kernels/*.yaml kernel names its modules there)');
  if (a.kernelConfig && !usedConfig) throw inputError('--kernel-config goes with --kernel PATH (a bzImage or a kernel tree)');
  return { catalog: { ...catalog, kernels }, names, adhoc };
}

/**
 * `--coverage`: each kernel is replaced by its coverage build, NAME-cov
 * (`source: {coverage: true}`: gcov for drivers/nvdimm and drivers/dax,
 * fault injection), built like a command-line kernel when missing. Only a
 * kernel the harness builds can have it: a Debian or bzImage kernel has no
 * .gcno files to read counters against (bad input).
 */
function withCoverage(kernels: Map<string, Def>, names: string[], adhoc: AdhocKernel[]): void {
  names.forEach((name, i) => {
    const def = kernels.get(name)!;
    const ref = adhoc.find((k) => k.name === name)?.ref ?? name;
    if (!def.source) {
      throw inputError(`--coverage: kernel '${ref}' is a ${def.debian ? 'debian' : 'local'} kernel; coverage needs a kernel the harness builds with gcov (a source: kernel such as source-7.2, or the path of a kernel tree)`, 'e.g. `run --kernel source-7.2 --coverage scenarios/`');
    }
    if (def.source.coverage) return;
    const cov: Def = { ...def, name: `${name}-cov`, source: { ...def.source, coverage: true } };
    kernels.set(cov.name, cov);
    names[i] = cov.name;
    const j = adhoc.findIndex((k) => k.name === name);
    if (j >= 0) adhoc[j] = { ...adhoc[j]!, name: cov.name, def: cov, describe: `${adhoc[j]!.describe} + coverage (gcov nvdimm/dax, fault injection)` };
    else adhoc.push({ name: cov.name, def: cov, ref, kind: 'coverage', patches: [], describe: `${name} + coverage (gcov nvdimm/dax, fault injection)` });
  });
}
