import { copyFile, mkdir, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { kernelArch, type KernelDef } from '../catalog/schema.js';
import { debArch } from '../common/arch.js';
import { HarnessError, infraError } from '../common/errors.js';
import { host } from '../common/exec.js';
import { exists } from '../common/fs.js';
import { sha256, sha256File } from '../common/hash.js';
import type { Logger } from '../common/log.js';
import { projectRoot } from '../common/paths.js';
import { PrivateApt } from './apt.js';
import { kernelRoot, writeManifest, type KernelArtifact } from './artifacts.js';
import { stampOf } from './verify.js';
import { describeOffered, offeredReleases } from './debian-version.js';
import { debVersion, newestDeb } from './debian-version-compare.js';
import { capabilitiesFromConfig, summarize } from './capabilities.js';
import { detectCapabilities, ramdaxAvailability } from './detect.js';
import { buildInitramfs, INITRAMFS_MODULES } from './initramfs.js';
import { PROBE_INIT } from './probe.js';

const DAY = 24 * 3_600_000;

export interface EnsureKernelOptions {
  refresh?: boolean;
  /** QEMU used to probe a kernel that has neither config nor modules. */
  qemu?: string;
}

/**
 * Resolve the newest release of a Debian kernel series (or the exact
 * `version:`), download its packages with the private apt, unpack them and
 * build what booting it needs: with `modules: false` just the vmlinuz (and
 * the config when linux-base is offered), probed once when there is no config.
 */
export async function ensureDebianKernel(
  def: KernelDef & { file: string },
  cacheDir: string,
  log: Logger,
  opts: EnsureKernelOptions = {},
): Promise<{ artifact: KernelArtifact; cached: boolean }> {
  const d = def.debian;
  if (!d) throw new HarnessError('infra', `kernel '${def.name}' is not a Debian package kernel`);
  const arch = kernelArch(def);
  const apt = new PrivateApt(cacheDir, d.suites, undefined, arch);
  await apt.update(log, opts.refresh ? 0 : DAY);
  // A foreign kernel's initramfs needs that architecture's busybox: busybox-static from the same suites.
  const busyboxVersion = apt.foreign && d.modules ? await apt.candidate('busybox-static') : undefined;
  if (apt.foreign && d.modules && !busyboxVersion) throw new HarnessError('infra', `kernel '${def.name}': ${d.suites.join(', ')} offer no busybox-static for ${debArch(arch)} (the initramfs needs it)`);
  const names = await apt.packageNames('linux-');
  const offered = offeredReleases(names, d.series, d.flavour).filter(
    (v) => (!d.modules || names.includes(`linux-modules-${v.release}`)) && (!d.version || v.release === `${d.version}-${d.flavour}`),
  );
  const newest = offered[0];
  if (!newest) {
    const what = d.version ? `linux-binary-${d.version}-${d.flavour}` : `linux-binary-${d.series}.N+debNN-${d.flavour}`;
    const same = offeredReleases(names, d.series, d.flavour).map((v) => v.release);
    throw new HarnessError(
      'infra',
      `kernel '${def.name}': no ${what}${d.modules ? ' with linux-modules-*' : ''} is offered by ${d.suites.join(', ')}; ${same.length ? `offered ${d.series} releases: ${same.join(', ')}` : `offered kernel series: ${describeOffered(names)}`}`,
      { hint: `edit ${def.file} (debian.series / debian.version / debian.suites / debian.modules)` },
    );
  }
  const recipe = d.modules
    ? sha256(await readFile(join(projectRoot, 'images/guest/initramfs-init.sh')), INITRAMFS_MODULES.join(' '), ...(busyboxVersion ? [`busybox-static=${busyboxVersion}`] : [])).slice(0, 12)
    : `vmlinuz-${sha256(await readFile(PROBE_INIT)).slice(0, 8)}`;
  const dir = join(kernelRoot(cacheDir, def.name), `${newest.release}-${recipe}`);
  const manifestPath = join(dir, 'manifest.json');
  const currentPath = join(kernelRoot(cacheDir, def.name), 'current.json');
  if (await exists(manifestPath)) {
    const artifact = JSON.parse(await readFile(manifestPath, 'utf8')) as KernelArtifact;
    if (!artifact.capabilities && artifact.config) {
      // A manifest from before capability detection: the config answers without a download.
      artifact.capabilities = capabilitiesFromConfig(await readFile(artifact.config, 'utf8'), !!artifact.modulesDisk);
      artifact.kind = 'debian';
      await writeManifest(manifestPath, artifact);
    }
    await writeManifest(currentPath, artifact);
    return { artifact, cached: true };
  }

  log.step(`kernel '${def.name}': fetching ${newest.release} (${d.version ? 'pinned by debian.version' : `newest ${d.series}.x`} offered by ${d.suites.join(', ')})`);
  const work = `${dir}.partial`;
  await rm(work, { recursive: true, force: true });
  const debs = join(cacheDir, 'debs');
  // linux-base (config, System.map) is not offered for every release (6.19 in trixie-backports: vmlinuz only).
  const wanted = ['binary', 'base', ...(d.modules ? ['modules'] : [])]
    .map((k) => `linux-${k}-${newest.release}`)
    .filter((n) => !n.startsWith('linux-base-') || d.modules || names.includes(n));
  await apt.download([...wanted, ...(busyboxVersion ? [`busybox-static=${busyboxVersion}`] : [])], debs);
  const files = await readdir(debs);
  const tree = join(work, 'tree');
  await mkdir(tree, { recursive: true });
  const packages: KernelArtifact['packages'] = [];
  for (const name of wanted) {
    const deb = newestDeb(files.filter((f) => f.startsWith(`${name}_`) && f.endsWith('.deb')));
    if (!deb) throw infraError(`apt-get download gave no .deb for ${name} in ${debs}`);
    packages.push({ name, version: debVersion(deb) });
    log.info(`  unpacking ${deb}`);
    await host('dpkg-deb', ['-x', join(debs, deb), tree]);
  }
  const modSrc = join(tree, 'usr/lib/modules', newest.release);
  // Newer packages put it in /usr/lib/modules/RELEASE, older ones (6.19) in /boot.
  const vmlinuzSrc = await firstExisting([join(modSrc, 'vmlinuz'), join(tree, 'boot', `vmlinuz-${newest.release}`)]);
  const configSrc = await firstExisting([join(modSrc, 'config'), join(tree, 'boot', `config-${newest.release}`)]);
  if (!vmlinuzSrc) throw infraError(`no vmlinuz in ${modSrc} or ${join(tree, 'boot')} after unpacking ${wanted.join(', ')}`);

  await mkdir(work, { recursive: true });
  const artifact: KernelArtifact = {
    name: def.name,
    release: newest.release,
    source: `debian:${packages.map((p) => `${p.name}=${p.version}`).join(',')}`,
    packages,
    dir,
    vmlinuz: join(dir, 'vmlinuz'),
    sha256: {},
    ramdax: 'absent',
    createdAt: new Date().toISOString(),
    kind: 'debian',
    ...(arch === 'x86_64' ? {} : { arch }),
  };
  await copyFile(vmlinuzSrc, join(work, 'vmlinuz'));
  if (configSrc) {
    await copyFile(configSrc, join(work, 'config'));
    artifact.config = join(dir, 'config');
  }
  if (d.modules) {
    // depmod and modprobe expect ROOT/lib/modules/RELEASE.
    const modRoot = join(work, 'modroot');
    await mkdir(join(modRoot, 'lib/modules'), { recursive: true });
    await rename(modSrc, join(modRoot, 'lib/modules', newest.release));
    await rm(join(modRoot, 'lib/modules', newest.release, 'vmlinuz'), { force: true });
    log.info('  depmod');
    await host('depmod', ['-b', modRoot, newest.release]);
    log.step(`kernel '${def.name}': building the modules disk and the initramfs`);
    await buildModulesDisk(join(modRoot, 'lib/modules'), join(work, 'modules.img'));
    let busybox: string | undefined;
    if (busyboxVersion) {
      const deb = files.find((f) => f.startsWith('busybox-static_') && f.endsWith(`_${debArch(arch)}.deb`) && decodeURIComponent(f).includes(`_${busyboxVersion}_`));
      if (!deb) throw infraError(`apt-get download gave no busybox-static ${busyboxVersion} (${debArch(arch)}) in ${debs}`);
      const bb = join(work, 'busybox');
      await host('dpkg-deb', ['-x', join(debs, deb), bb]);
      busybox = (await firstExisting([join(bb, 'usr/bin/busybox'), join(bb, 'bin/busybox')])) ?? '';
      packages.push({ name: 'busybox-static', version: busyboxVersion });
    }
    await buildInitramfs({ modRoot, release: newest.release, out: join(work, 'initrd.img'), workDir: join(work, 'initramfs'), busybox });
    if (busybox) await rm(join(work, 'busybox'), { recursive: true, force: true });
    artifact.initrd = join(dir, 'initrd.img');
    artifact.modulesDisk = join(dir, 'modules.img');
    artifact.capabilities = await detectCapabilities({ name: def.name, vmlinuz: join(work, 'vmlinuz'), config: artifact.config && join(work, 'config'), modulesDir: join(modRoot, 'lib/modules', newest.release), cacheDir, log });
    await rm(modRoot, { recursive: true, force: true });
  } else {
    artifact.capabilities = await detectCapabilities({ name: def.name, vmlinuz: join(work, 'vmlinuz'), config: artifact.config && join(work, 'config'), cacheDir, qemu: opts.qemu, log, probeLog: join(work, 'probe-console.log') });
  }
  artifact.ramdax = ramdaxAvailability(artifact.capabilities);
  log.info(`  ${def.name} ${newest.release}: ${summarize(artifact.capabilities)}`);
  await rm(tree, { recursive: true, force: true });
  artifact.stamps = {};
  for (const f of ['vmlinuz', 'initrd.img', 'modules.img']) {
    if (!(await exists(join(work, f)))) continue;
    artifact.sha256[f] = await sha256File(join(work, f));
    // Size and mtime at creation (kept by the rename below): the cheap check before every boot.
    artifact.stamps[join(dir, f)] = await stampOf(join(work, f));
  }
  await writeManifest(join(work, 'manifest.json'), artifact);
  await rm(dir, { recursive: true, force: true });
  await rename(work, dir);
  await writeManifest(currentPath, artifact);
  return { artifact, cached: false };
}

async function firstExisting(paths: string[]): Promise<string | undefined> {
  for (const p of paths) if (await exists(p)) return p;
  return undefined;
}

/** An ext4 image holding lib/modules, mounted read-only at /lib/modules by the guest init. */
export async function buildModulesDisk(modulesDir: string, out: string): Promise<void> {
  const { stdout } = await host('du', ['-sb', modulesDir]);
  const bytes = Number(stdout.split(/\s/)[0]);
  const mib = Math.ceil((bytes * 1.25) / 2 ** 20) + 64;
  await host('mkfs.ext4', ['-q', '-F', '-L', 'modules', '-d', modulesDir, out, `${mib}M`]);
}

