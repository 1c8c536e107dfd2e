import { copyFile, cp, mkdir, readFile, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { KernelDef } from '../catalog/schema.js';
import { HarnessError } from '../common/errors.js';
import { host } from '../common/exec.js';
import { exists } from '../common/fs.js';
import { sha256, sha256File } from '../common/hash.js';
import type { Logger } from '../common/log.js';
import { projectRoot } from '../common/paths.js';
import { kernelRoot, writeManifest, type KernelArtifact } from './artifacts.js';
import { summarize } from './capabilities.js';
import { buildModulesDisk, type EnsureKernelOptions } from './debian-kernel.js';
import { bzImageRelease, detectCapabilities, ramdaxAvailability } from './detect.js';
import { buildInitramfs } from './initramfs.js';

/** The paths of a `local:` kernel, resolved against its yaml file. Pure. */
export function localPaths(def: KernelDef & { file: string }): { vmlinuz: string; modules?: string; config?: string } {
  const l = def.local!;
  const base = dirname(def.file);
  return { vmlinuz: resolve(base, l.vmlinuz), modules: l.modules && resolve(base, l.modules), config: l.config && resolve(base, l.config) };
}

/**
 * Where the modules of `release` are inside a user's modules folder: the
 * folder itself (holding modules.dep or kernel/), RELEASE/, lib/modules/RELEASE/.
 */
async function findModulesDir(folder: string, release: string | undefined): Promise<{ dir: string; release: string }> {
  const candidates: { dir: string; release?: string }[] = [];
  for (const base of [join(folder, 'lib/modules'), join(folder, 'usr/lib/modules'), folder]) {
    const entries = await readdir(base).catch(() => [] as string[]);
    for (const e of entries) if (/^\d+\.\d+/.test(e) && (await exists(join(base, e, 'kernel')))) candidates.push({ dir: join(base, e), release: e });
  }
  if (await exists(join(folder, 'kernel'))) candidates.push({ dir: folder, release });
  const pick = candidates.find((c) => c.release === release) ?? (candidates.length === 1 ? candidates[0] : undefined);
  if (!pick?.release) {
    throw new HarnessError('infra', `no modules for ${release ?? 'this kernel'} in ${folder} (found: ${candidates.map((c) => c.dir).join(', ') || 'no folder with kernel/'})`, {
      hint: 'point local.modules at a folder from `make modules_install INSTALL_MOD_PATH=DIR` (DIR or DIR/lib/modules/RELEASE)',
    });
  }
  return { dir: pick.dir, release: pick.release };
}

/**
 * A kernel the user built: copy it into the cache (by content), and — when it
 * has modules — build the modules disk and initramfs like a Debian kernel's.
 * Without modules it boots with root=/dev/vda and no initrd, unless its
 * config (or a probe) says it cannot: then it takes the console path.
 */
export async function ensureLocalKernel(
  def: KernelDef & { file: string },
  cacheDir: string,
  log: Logger,
  opts: EnsureKernelOptions = {},
): Promise<{ artifact: KernelArtifact; cached: boolean }> {
  if (!def.local) throw new HarnessError('infra', `kernel '${def.name}' is not a local kernel`);
  const p = localPaths(def);
  for (const [what, path] of Object.entries(p)) {
    if (path && !(await exists(path))) throw new HarnessError('infra', `kernel '${def.name}': local.${what} ${path} does not exist`, { hint: `edit ${def.file}` });
  }
  const vmSum = await sha256File(p.vmlinuz);
  const release = bzImageRelease(await readFile(p.vmlinuz)) ?? `unknown-${vmSum.slice(0, 12)}`;
  const mods = p.modules ? await findModulesDir(p.modules, release) : undefined;
  const cfgSum = p.config ? await sha256File(p.config) : '';
  const modList = mods ? (await host('find', [mods.dir, '-type', 'f', '-name', '*.ko*', '-printf', '%P %s %T@\n'])).stdout : '';
  const recipe = sha256(vmSum, cfgSum, modList, await readFile(join(projectRoot, 'images/guest/initramfs-init.sh'))).slice(0, 12);
  const dir = join(kernelRoot(cacheDir, def.name), `${release}-${recipe}`);
  const manifestPath = join(dir, 'manifest.json');
  const currentPath = join(kernelRoot(cacheDir, def.name), 'current.json');
  if (await exists(manifestPath)) {
    const artifact = JSON.parse(await readFile(manifestPath, 'utf8')) as KernelArtifact;
    await writeManifest(currentPath, artifact);
    return { artifact, cached: true };
  }
  log.step(`kernel '${def.name}': taking ${p.vmlinuz} (${release})${mods ? ` with modules from ${mods.dir}` : ''}`);
  const work = `${dir}.partial`;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  await copyFile(p.vmlinuz, join(work, 'vmlinuz'));
  const artifact: KernelArtifact = {
    name: def.name,
    release: mods?.release ?? release,
    source: `local:${p.vmlinuz}`,
    packages: [],
    dir,
    vmlinuz: join(dir, 'vmlinuz'),
    sha256: {},
    ramdax: 'absent',
    createdAt: new Date().toISOString(),
    kind: 'local',
  };
  if (p.config) {
    await copyFile(p.config, join(work, 'config'));
    artifact.config = join(dir, 'config');
  }
  let modulesDir: string | undefined;
  if (mods) {
    const modRoot = join(work, 'modroot');
    modulesDir = join(modRoot, 'lib/modules', mods.release);
    await mkdir(dirname(modulesDir), { recursive: true });
    await cp(mods.dir, modulesDir, { recursive: true, dereference: true });
    // `make modules_install` leaves build/ and source/ links into the tree: not wanted on the disk.
    for (const l of ['build', 'source']) await rm(join(modulesDir, l), { recursive: true, force: true });
    await host('depmod', ['-b', modRoot, mods.release]);
    log.step(`kernel '${def.name}': building the modules disk and the initramfs`);
    await buildModulesDisk(dirname(modulesDir), join(work, 'modules.img'));
    await buildInitramfs({ modRoot, release: mods.release, out: join(work, 'initrd.img'), workDir: join(work, 'initramfs') });
    artifact.initrd = join(dir, 'initrd.img');
    artifact.modulesDisk = join(dir, 'modules.img');
  }
  artifact.capabilities = await detectCapabilities({
    name: def.name,
    vmlinuz: join(work, 'vmlinuz'),
    config: p.config && join(work, 'config'),
    modulesDir,
    cacheDir,
    qemu: opts.qemu,
    log,
    probeLog: join(work, 'probe-console.log'),
  });
  if (modulesDir) await rm(join(work, 'modroot'), { recursive: true, force: true });
  artifact.ramdax = ramdaxAvailability(artifact.capabilities);
  for (const f of ['vmlinuz', 'initrd.img', 'modules.img', 'config']) {
    if (await exists(join(work, f))) artifact.sha256[f] = await sha256File(join(work, f));
  }
  log.info(`  ${def.name} ${artifact.release}: ${summarize(artifact.capabilities)}`);
  await writeManifest(join(work, 'manifest.json'), artifact);
  await rm(dir, { recursive: true, force: true });
  await rename(work, dir);
  await writeManifest(currentPath, artifact);
  return { artifact, cached: false };
}
