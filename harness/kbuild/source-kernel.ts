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
import { withLock } from './build-lock.js';
import { buildDirName, buildKey, requestKey } from './cache-key.js';
import { coverageFragments, coveragePatchPath, keepGcovFiles, seedObjDir, type GcovRecord } from './coverage-build.js';
import { describeStats, parseStatsLog, type CcacheStats } from './ccache-stats.js';
import { ensureDebianSource } from './debian-source.js';
import { autoGc } from './gc.js';
import { describeRevision, treeRevision } from './git-tree.js';
import { resolveConfig, type Fragment } from './kconfig.js';
import { runMake } from './make.js';
import { formatDuration } from './make-log.js';
import { patchLabel, patchRecord, readPatchSeries, type PatchRecord, type SeriesPatch } from './patch-series.js';
import { affectsConfig } from './sync-plan.js';
import { detectToolchain, kernelImage, makeArgs } from './toolchain.js';
import { objDirOf, syncWorkTree, touchUsed, workTree, type SourceTree } from './work-tree.js';

/** A harness-built kernel: the common artifact plus how it was built. */
export type SourceKernelArtifact = KernelArtifact & {
  build: {
    key: string;
    revision: string;
    base: string;
    fragments: string[];
    patches: PatchRecord[];
    compiler: string;
    /** The cache's working tree the kernel was built from, and its object folder. */
    srcDir?: string;
    objDir: string;
    log: string;
    wallSeconds: number;
    objects: number;
    /** Files the working tree sync rewrote for this build (first ones), and how many. */
    synced?: { files: string[]; count: number; seconds: number };
    ccache?: CcacheStats;
    /** Kconfig was not run again: nothing it reads had changed. */
    configReused?: boolean;
    /** A coverage build (`coverage: true`, `--coverage`): where its .gcno files and sources are kept. */
    gcov?: GcovRecord;
    /** The object folder this configuration's first build was copied from. */
    seededFrom?: string;
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
  tree: SourceTree;
  /** The working tree's name under CACHE/work: one per source tree, whatever its revision or patches. */
  key: string;
  revision: string;
  describe: string;
  packages: KernelArtifact['packages'];
}

/** Where a definition's patches and fragments live: next to its yaml file. */
const yamlDirOf = (def: { file: string }) => dirname(def.file);

/** The working tree of a tree given by path: its folder name and a hash of where it is. */
export const pathTreeKey = (dir: string) => `${basename(dir).replace(/[^A-Za-z0-9._-]/g, '_') || 'tree'}-${sha256('tree', resolve(dir)).slice(0, 8)}`;

/** The object folder of a configuration: base + fragment names (a fragment's edits stay incremental in one folder). */
export function configName(base: string, baseId: string, fragments: readonly string[]): string {
  const label = `${base === 'tinyconfig' || base === 'defconfig' ? base : 'config'}${fragments.length ? `+${fragments.join('+')}` : ''}`;
  return `${label}-${sha256('config', baseId, ...fragments).slice(0, 8)}`;
}

/**
 * Build (or find in the cache) the kernel a `source:` definition describes.
 * The source is synced into the cache's working tree for that source tree
 * (patches applied there, only changed files rewritten), configured and
 * built with make in that tree's object folder for the configuration, under
 * the tree's lock; the bzImage is kept by content under
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
  const yamlDir = yamlDirOf(def);
  const currentPath = join(kernelRoot(cacheDir, def.name), 'current.json');
  const setCurrent = async (a: SourceKernelArtifact) => {
    if (opts.setCurrent !== false) await writeManifest(currentPath, a);
  };

  // Bad input first (patch files, fragments, base config), then the tools, before anything is unpacked or configured.
  const patches = await readPatchSeries([...s.patches.map((p) => resolve(yamlDir, p)), ...(s.coverage ? [coveragePatchPath()] : [])]);
  const ownFragments = await readFragments(def, yamlDir);
  const fragments = [...ownFragments, ...(s.coverage ? await coverageFragments(ownFragments.map((f) => f.name)) : [])];
  const fragmentNames = fragments.map((f) => f.name);
  const base = s.base === 'tinyconfig' || s.base === 'defconfig' ? s.base : resolve(yamlDir, s.base);
  const baseId = base === s.base ? base : `file:${sha256(await readFile(base).catch(() => { throw inputError(`${def.file}: base config ${base} cannot be read`); }))}`;
  // A fresh host lacks flex, bison, libelf-dev (and a cross compiler for arm64): installed (root) or named (exit 3) here.
  const arch = s.arch ?? 'x86_64';
  await ensureBuildTools(log, { arch });
  const src = await resolveSource(def, cacheDir, log, opts);
  const tc = await detectToolchain(cacheDir, { ...opts, arch });
  const image = kernelImage(tc.arch);
  const many = new Map<string, number>();
  for (const p of patches) many.set(p.file, (many.get(p.file) ?? 0) + 1);
  const patchIds = patches.map((p) => ({ name: patchLabel(p, many.get(p.file)! > 1 && p.index > 1), content: p.content }));

  // A kernel found in the cache, under this name and with the patch files as given this time (same content in
  // the same order: the cache keys say so; the files may be elsewhere than when it was built).
  const asRequested = (a: SourceKernelArtifact): SourceKernelArtifact => ({ ...a, name: def.name, build: { ...a.build, patches: patches.map(patchRecord) } });
  const requestPath = join(cacheDir, 'builds', 'requests', `${requestKey({ revision: src.revision, base: baseId, fragments, patches: patchIds, compiler: tc.compiler }).slice(0, 32)}.json`);
  const found = await readCached(requestPath);
  if (found) {
    // The same inputs may have been built under another name (bisect, a command-line kernel): same bzImage, this name.
    const hit = asRequested(found);
    await touchUsed(hit.dir);
    await setCurrent(hit);
    return { artifact: hit, cached: true };
  }

  const wt = workTree(cacheDir, src.key);
  // One object folder per configuration (and architecture: arm64 builds cross-compile into their own).
  const objDir = objDirOf(wt, `${configName(s.base, baseId, fragmentNames)}${tc.arch ? `-${tc.arch}` : ''}`);
  const built = await withLock(wt.root, `kernel '${def.name}' build`, log, async () => {
    log.step(`kernel '${def.name}': syncing ${src.describe}${patches.length ? ` + ${patches.length} patch(es)` : ''} into ${wt.src}`);
    const sync = await syncWorkTree(wt, src.tree, patches, log);
    log.info(`  work tree: ${sync.populated ? 'created' : `${sync.changed.length} file(s) rewritten${sync.changed.length ? ` (${sync.changed.slice(0, 4).join(', ')}${sync.changed.length > 4 ? ', …' : ''})` : ''}`} in ${formatDuration(sync.wallMs)}`);
    await touchUsed(wt.root);
    const seededFrom = await seedObjDir(objDir, log);
    await touchUsed(objDir);

    const stampPath = join(objDir, '.ramdax-harness-config.json');
    const stamp = sha256('config-inputs', baseId, ...fragments.flatMap((f) => [f.name, f.content]));
    const old = await readFile(stampPath, 'utf8').then((t) => JSON.parse(t) as { stamp: string; config: string }, () => undefined);
    const oldConfig = await readFile(join(objDir, '.config'), 'utf8').catch(() => undefined);
    const reuse = !sync.populated && !!old && !!oldConfig && old.stamp === stamp && old.config === sha256(oldConfig) && !sync.changed.some(affectsConfig);
    let config: string;
    if (reuse) {
      config = oldConfig!;
      log.info(`  config: unchanged (${s.base}${fragmentNames.length ? ` + ${fragmentNames.join(' + ')}` : ''}; no Kconfig input changed), ${join(objDir, '.config')}`);
    } else {
      log.step(`kernel '${def.name}': configuring in ${objDir}`);
      config = await resolveConfig({ srcDir: wt.src, objDir, base, fragments, tc, kernel: def.name }, log);
      await writeFile(stampPath, `${JSON.stringify({ stamp, config: sha256(config) })}\n`);
    }
    const key = buildKey({ revision: src.revision, patches: patchIds, config, compiler: tc.compiler });
    const dir = join(cacheDir, 'builds', buildDirName(def.name, key));
    const known = await readCached(join(dir, 'manifest.json'));
    if (known) return { artifact: asRequested(known), cached: true };

    const statsLog = join(objDir, 'ccache-stats.log');
    await rm(statsLog, { force: true });
    log.step(`kernel '${def.name}': make -j${tc.jobs} ${image.target} (${tc.arch ? `ARCH=${tc.arch} ` : ""}CC=${tc.cc}, nice ${tc.nice}); log in ${join(objDir, 'build.log')}`);
    const made = await runMake({ srcDir: wt.src, objDir, tc: { ...tc, env: { ...tc.env, CCACHE_STATSLOG: statsLog } }, target: image.target, logPath: join(objDir, 'build.log'), kernel: def.name }, log);
    const ccache = (await exists(statsLog)) ? parseStatsLog(await readFile(statsLog, 'utf8')) : undefined;
    log.info(`  built in ${formatDuration(made.wallMs)} (${made.objects} C files compiled${describeStats(ccache) ? `; ${describeStats(ccache)}` : ''})`);
    const release = (await host('make', makeArgs(wt.src, objDir, tc, ['kernelrelease'], ['-s']), { env: tc.env })).stdout.trim();

    const work = `${dir}.partial`;
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    await copyFile(join(objDir, image.path), join(work, 'vmlinuz'));
    await copyFile(join(objDir, '.config'), join(work, 'config'));
    await copyFile(join(objDir, 'build.log'), join(work, 'build.log'));
    // The debug vmlinux (line tables) and System.map: kernel traces of this build get file:line (triage/symbolize.ts).
    const debug = await keepDebugFiles(objDir, work, dir, wt.src);
    await builtinModulesDisk(objDir, release, work);
    const gcov = s.coverage ? await keepGcovFiles(objDir, wt.src, work, dir) : undefined;
    if (gcov && gcov.gcno === 0) throw new HarnessError('infra', `kernel '${def.name}': a coverage build made no .gcno file under ${gcov.dirs.join(', ')} (is GCOV_PROFILE set by ${coveragePatchPath()}?)`);
    if (gcov) log.info(`  coverage: ${gcov.gcno} .gcno file(s) and their sources kept in ${gcov.dir}`);
    const artifact: SourceKernelArtifact = {
      name: def.name,
      release,
      source: src.describe + (patches.length ? ` + patches ${patches.map((p) => patchLabel(p, many.get(p.file)! > 1)).join(', ')}` : ''),
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
      ...(debug ? { debug } : {}),
      build: {
        key,
        revision: src.revision,
        base: s.base,
        fragments: fragmentNames,
        patches: patches.map(patchRecord),
        compiler: tc.compiler,
        srcDir: wt.src,
        objDir,
        log: join(dir, 'build.log'),
        wallSeconds: Math.round(made.wallMs / 100) / 10,
        objects: made.objects,
        synced: { files: sync.changed.slice(0, 20), count: sync.changed.length, seconds: Math.round(sync.wallMs / 100) / 10 },
        ...(ccache ? { ccache } : {}),
        configReused: reuse,
        ...(gcov ? { gcov } : {}),
        ...(seededFrom ? { seededFrom } : {}),
      },
    };
    await writeManifest(join(work, 'manifest.json'), artifact);
    await rm(dir, { recursive: true, force: true });
    await rename(work, dir);
    return { artifact, cached: false };
  });
  await touchUsed(built.artifact.dir);
  await writeManifest(requestPath, { manifest: join(built.artifact.dir, 'manifest.json') });
  await setCurrent(built.artifact);
  if (!built.cached) await autoGc(cacheDir, log);
  return built;
}

/** Copy vmlinux and System.map of a finished build beside its bzImage; undefined when make left no vmlinux. */
async function keepDebugFiles(objDir: string, work: string, dir: string, srcRoot: string): Promise<KernelArtifact['debug']> {
  if (!(await exists(join(objDir, 'vmlinux')))) return undefined;
  await copyFile(join(objDir, 'vmlinux'), join(work, 'vmlinux'));
  const map = await exists(join(objDir, 'System.map'));
  if (map) await copyFile(join(objDir, 'System.map'), join(work, 'System.map'));
  return { vmlinux: join(dir, 'vmlinux'), ...(map ? { systemMap: join(dir, 'System.map') } : {}), srcRoot };
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
    const dir = resolve(yamlDirOf(def), tree);
    if (!(await exists(dir))) throw inputError(`${def.file}: source tree ${dir} does not exist`);
    const rev = await treeRevision(dir);
    if (rev.head === null) {
      // No git: the tree's identity is its file list with sizes and mtimes (what make would go by too).
      const listing = (await host('find', ['.', '-mindepth', '1', '-path', './.git', '-prune', '-o', '-type', 'f', '-printf', '%P %s %T@\\n'], { cwd: dir, maxBuffer: 1 << 30 })).stdout.split('\n').sort();
      const revision = `dir:${sha256(...listing).slice(0, 16)}`;
      log.info(`${dir} is not a git tree: identified by its file list (${revision})`);
      return { tree: { dir, kind: 'plain', describe: `tree ${dir} (not git)` }, key: pathTreeKey(dir), revision, describe: `tree ${dir} (not git, ${revision})`, packages: [] };
    }
    const revision = describeRevision(rev);
    return { tree: { dir, kind: 'git', describe: `${dir} at ${revision}` }, key: pathTreeKey(dir), revision, describe: `tree ${dir} at ${revision}`, packages: [] };
  }
  const u = await ensureDebianSource(tree.debian.series, tree.debian.suites, cacheDir, log, opts);
  return {
    tree: { dir: u.dir, kind: 'cache', describe: `${u.package} ${u.version}` },
    key: u.package,
    revision: `debian:${u.package}=${u.version}`,
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

export async function readCached(path: string): Promise<SourceKernelArtifact | undefined> {
  try {
    const j = JSON.parse(await readFile(path, 'utf8')) as SourceKernelArtifact | { manifest: string };
    if ('manifest' in j) return readCached(j.manifest);
    return (await exists(j.vmlinuz)) ? j : undefined;
  } catch {
    return undefined;
  }
}

export type { SeriesPatch };
