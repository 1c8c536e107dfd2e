import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { KernelDef } from '../catalog/schema.js';
import { HarnessError, inputError } from '../common/errors.js';
import { host } from '../common/exec.js';
import { exists } from '../common/fs.js';
import { sha256, sha256File } from '../common/hash.js';
import type { Logger } from '../common/log.js';
import { kernelRoot, ramdaxFromConfig, writeManifest, type KernelArtifact } from '../setup/artifacts.js';
import { capabilitiesFromConfig } from '../setup/capabilities.js';
import { buildModulesDisk } from '../setup/debian-kernel.js';
import { ensureBuildTools } from '../setup/host-packages.js';
import { buildDirName, buildKey, requestKey } from './cache-key.js';
import { ensureDebianSource } from './debian-source.js';
import { describeRevision, treeRevision } from './git-tree.js';
import { resolveConfig, type Fragment } from './kconfig.js';
import { runMake } from './make.js';
import { formatDuration } from './make-log.js';
import { patchedTree, readPatches } from './patches.js';
import { detectToolchain, kernelImage, makeArgs } from './toolchain.js';

/** A harness-built kernel: the common artifact plus how it was built. */
export type SourceKernelArtifact = KernelArtifact & {
  build: {
    key: string;
    revision: string;
    base: string;
    fragments: string[];
    patches: { file: string; sha256: string }[];
    compiler: string;
    objDir: string;
    log: string;
    wallSeconds: number;
    objects: number;
  };
};

export interface SourceBuildOptions {
  refresh?: boolean;
  jobs?: number;
  nice?: number;
  /** Build this tree instead of `source.tree` (bisect builds the user's tree at each step). */
  tree?: string;
  /** Point CACHE/kernels/NAME/current.json at the result (default true). */
  setCurrent?: boolean;
}

interface ResolvedSource {
  srcDir: string;
  revision: string;
  /** False for a plain folder without git: its content has no cheap identity, so it is never reused by request. */
  stable: boolean;
  describe: string;
  packages: KernelArtifact['packages'];
}

/**
 * Build (or find in the cache) the kernel a `source:` definition describes:
 * source → patches → config → make bzImage, cached by content under
 * CACHE/builds/NAME-HASH/ with a manifest.json, like ensureDebianKernel.
 */
export async function ensureSourceKernel(
  def: KernelDef & { file: string },
  cacheDir: string,
  log: Logger,
  opts: SourceBuildOptions = {},
): Promise<{ artifact: SourceKernelArtifact; cached: boolean }> {
  const s = def.source;
  if (!s) throw new HarnessError('infra', `kernel '${def.name}' is not a source: kernel`);
  const yamlDir = dirname(def.file);
  const currentPath = join(kernelRoot(cacheDir, def.name), 'current.json');
  const setCurrent = async (a: SourceKernelArtifact) => {
    if (opts.setCurrent !== false) await writeManifest(currentPath, a);
  };

  // Checked before anything is unpacked or configured: a fresh host lacks flex, bison, libelf-dev.
  const arch = s.arch ?? 'x86_64';
  await ensureBuildTools(log, { arch });
  const src = await resolveSource(def, cacheDir, log, opts);
  const patches = await readPatches(s.patches.map((p) => resolve(yamlDir, p)));
  const fragments = await readFragments(def, yamlDir);
  const base = s.base === 'tinyconfig' || s.base === 'defconfig' ? s.base : resolve(yamlDir, s.base);
  const baseId = base === s.base ? base : `file:${sha256(await readFile(base).catch(() => { throw inputError(`${def.file}: base config ${base} cannot be read`); }))}`;
  const tc = await detectToolchain(cacheDir, { ...opts, arch });
  const image = kernelImage(tc.arch);
  const patchIds = patches.map((p) => ({ name: basename(p.path), content: p.content }));

  const requestPath = join(cacheDir, 'builds', 'requests', `${requestKey({ revision: src.revision, base: baseId, fragments, patches: patchIds, compiler: tc.compiler }).slice(0, 32)}.json`);
  if (src.stable) {
    const hit = await readCached(requestPath);
    if (hit) {
      await setCurrent(hit);
      return { artifact: hit, cached: true };
    }
  }

  const buildSrc = patches.length ? await patchedTree(src.srcDir, src.revision, patches, cacheDir, log) : src.srcDir;
  // One build folder per kernel and source folder: later builds of the same tree are incremental.
  const objDir = join(cacheDir, 'builds', 'obj', `${def.name}-${sha256(buildSrc).slice(0, 12)}`);
  log.step(`kernel '${def.name}': configuring ${src.describe} in ${objDir}`);
  const config = await resolveConfig({ srcDir: buildSrc, objDir, base, fragments, tc, kernel: def.name }, log);
  const key = buildKey({ revision: src.revision, patches: patchIds, config, compiler: tc.compiler });
  const dir = join(cacheDir, 'builds', buildDirName(def.name, key));
  const manifestPath = join(dir, 'manifest.json');
  const known = await readCached(manifestPath);
  if (known) {
    await writeManifest(requestPath, { manifest: manifestPath });
    await setCurrent(known);
    return { artifact: known, cached: true };
  }

  log.step(`kernel '${def.name}': make -j${tc.jobs} ${image.target} (${tc.arch ? `ARCH=${tc.arch} ` : ''}CC=${tc.cc}, nice ${tc.nice}); log in ${join(objDir, 'build.log')}`);
  const made = await runMake({ srcDir: buildSrc, objDir, tc, target: image.target, logPath: join(objDir, 'build.log'), kernel: def.name }, log);
  log.info(`  built in ${formatDuration(made.wallMs)} (${made.objects} C files compiled)`);
  const release = (await host('make', makeArgs(buildSrc, objDir, tc, ['kernelrelease'], ['-s']), { env: tc.env })).stdout.trim();

  const work = `${dir}.partial`;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  await copyFile(join(objDir, image.path), join(work, 'vmlinuz'));
  await copyFile(join(objDir, '.config'), join(work, 'config'));
  await copyFile(join(objDir, 'build.log'), join(work, 'build.log'));
  await builtinModulesDisk(objDir, release, work);
  const artifact: SourceKernelArtifact = {
    name: def.name,
    release,
    source: src.describe + (patches.length ? ` + patches ${patches.map((p) => basename(p.path)).join(', ')}` : ''),
    packages: src.packages,
    dir,
    vmlinuz: join(dir, 'vmlinuz'),
    config: join(dir, 'config'),
    modulesDisk: join(dir, 'modules.img'),
    sha256: { vmlinuz: await sha256File(join(work, 'vmlinuz')), config: sha256(config) },
    ramdax: ramdaxFromConfig(config),
    kind: 'source',
    ...(tc.arch ? { arch: tc.arch } : {}),
    // Everything is built in (the modules disk only lists what is): what the kernel offers is read from its .config.
    capabilities: capabilitiesFromConfig(config, false),
    createdAt: new Date().toISOString(),
    build: {
      key,
      revision: src.revision,
      base: s.base,
      fragments: s.fragments,
      patches: patches.map((p) => ({ file: p.path, sha256: sha256(p.content) })),
      compiler: tc.compiler,
      objDir,
      log: join(dir, 'build.log'),
      wallSeconds: Math.round(made.wallMs / 100) / 10,
      objects: made.objects,
    },
  };
  await writeManifest(join(work, 'manifest.json'), artifact);
  await rm(dir, { recursive: true, force: true });
  await rename(work, dir);
  if (src.stable) await writeManifest(requestPath, { manifest: manifestPath });
  await setCurrent(artifact);
  return { artifact, cached: false };
}

/**
 * A modules disk holding only modules.builtin(.modinfo) and depmod's indexes.
 * Nothing is loadable, but libkmod in the guest can tell that a module is
 * built in: without it `daxctl reconfigure-device --mode=system-ram` fails
 * with "could not find module by name='kmem'" although kmem is there.
 */
async function builtinModulesDisk(objDir: string, release: string, work: string): Promise<void> {
  const root = join(work, 'modroot');
  const modDir = join(root, 'lib', 'modules', release);
  await mkdir(modDir, { recursive: true });
  for (const f of ['modules.builtin', 'modules.builtin.modinfo']) {
    if (await exists(join(objDir, f))) await copyFile(join(objDir, f), join(modDir, f));
  }
  await writeFile(join(modDir, 'modules.order'), '');
  await host('depmod', ['-b', root, release]);
  await buildModulesDisk(join(root, 'lib', 'modules'), join(work, 'modules.img'));
  await rm(root, { recursive: true, force: true });
}

async function resolveSource(def: KernelDef & { file: string }, cacheDir: string, log: Logger, opts: SourceBuildOptions): Promise<ResolvedSource> {
  const tree = opts.tree ?? def.source!.tree;
  if (typeof tree === 'string') {
    const dir = resolve(dirname(def.file), tree);
    if (!(await exists(dir))) throw inputError(`${def.file}: source tree ${dir} does not exist`);
    const rev = await treeRevision(dir);
    if (rev.head === null) {
      log.warn(`${dir} is not a git tree: its builds are not cached by revision (make still rebuilds incrementally)`);
      return { srcDir: dir, revision: `dir:${dir}:${Date.now()}`, stable: false, describe: `tree ${dir} (not git)`, packages: [] };
    }
    return { srcDir: dir, revision: describeRevision(rev), stable: true, describe: `tree ${dir} at ${describeRevision(rev)}`, packages: [] };
  }
  const u = await ensureDebianSource(tree.debian.series, tree.debian.suites, cacheDir, log, opts);
  return {
    srcDir: u.dir,
    revision: `debian:${u.package}=${u.version}`,
    stable: true,
    describe: `debian:${u.package}=${u.version}`,
    packages: [{ name: u.package, version: u.version }],
  };
}

async function readFragments(def: KernelDef & { file: string }, yamlDir: string): Promise<Fragment[]> {
  const out: Fragment[] = [];
  for (const name of def.source!.fragments) {
    const path = join(yamlDir, 'fragments', `${name}.config`);
    const content = await readFile(path, 'utf8').catch(() => {
      throw inputError(`${def.file}: kernel '${def.name}' asks for fragment '${name}', but there is no ${path}`);
    });
    out.push({ name, path, content });
  }
  return out;
}

async function readCached(path: string): Promise<SourceKernelArtifact | undefined> {
  try {
    const j = JSON.parse(await readFile(path, 'utf8')) as SourceKernelArtifact | { manifest: string };
    if ('manifest' in j) return readCached(j.manifest);
    return (await exists(j.vmlinuz)) ? j : undefined;
  } catch {
    return undefined;
  }
}
