import { chmod, copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageDef } from '../catalog/schema.js';
import { host } from '../common/exec.js';
import { exists } from '../common/fs.js';
import { sha256, sha256File } from '../common/hash.js';
import type { Logger } from '../common/log.js';
import { projectRoot } from '../common/paths.js';
import { debianMirror } from './apt.js';
import { writeManifest, type ImageArtifact } from './artifacts.js';
import { stampOf } from './verify.js';
import type { KeyPaths } from './keys.js';
import { debArch } from '../common/arch.js';
import { ensureForeignExec } from './foreign-exec.js';

const GUEST_FILES = ['images/guest/harness-init.sh', 'images/guest/sshd_config'];

/**
 * Build the guest disk in two cached layers: the mmdebstrap tarball (keyed by
 * suite, variant, packages and mirror) and the bootable ext4 image (keyed by
 * the tarball, the guest init and the per-install keys).
 */
export async function ensureImage(
  def: ImageDef & { file: string },
  cacheDir: string,
  keys: KeyPaths,
  log: Logger,
): Promise<{ artifact: ImageArtifact; cached: boolean }> {
  const imagesCache = join(cacheDir, 'images');
  await mkdir(imagesCache, { recursive: true });
  const packages = [...def.packages].sort();
  const mirror = debianMirror();
  const arch = def.arch ?? 'x86_64';
  // x86_64 keeps the key it had before architectures existed (its cached tarball stays valid).
  const tarKey = sha256(def.suite, def.variant, packages.join(','), mirror, ...(arch === 'x86_64' ? [] : [`arch=${arch}`])).slice(0, 16);
  const tar = join(imagesCache, `rootfs-${def.suite}${arch === 'x86_64' ? '' : `-${debArch(arch)}`}-${tarKey}.tar`);
  const overlay = await Promise.all([...GUEST_FILES.map((f) => readFile(join(projectRoot, f))), readFile(keys.clientPub), readFile(keys.hostKey)]);
  const imageKey = sha256(tarKey, String(def.size), ...overlay).slice(0, 16);
  const dir = join(imagesCache, `${def.name}-${imageKey}`);
  const manifestPath = join(dir, 'manifest.json');
  const currentPath = join(imagesCache, `${def.name}.current.json`);
  if (await exists(manifestPath)) {
    const artifact = JSON.parse(await readFile(manifestPath, 'utf8')) as ImageArtifact;
    await writeManifest(currentPath, artifact);
    return { artifact, cached: true };
  }

  if (!(await exists(tar))) {
    // A foreign image: its package scripts run under qemu-user (binfmt_misc), see foreign-exec.ts.
    const via = arch === 'x86_64' ? '' : `, ${debArch(arch)} through ${await ensureForeignExec(arch, log)}`;
    log.step(`image '${def.name}': mmdebstrap ${def.suite} (${def.variant}${via}) with ${packages.length} packages`);
    const started = Date.now();
    await host('mmdebstrap', [
      ...(arch === 'x86_64' ? [] : [`--arch=${debArch(arch)}`]),
      `--variant=${def.variant}`,
      `--include=${packages.join(',')}`,
      '--dpkgopt=path-exclude=/usr/share/doc/*',
      '--dpkgopt=path-exclude=/usr/share/man/*',
      '--dpkgopt=path-exclude=/usr/share/locale/*',
      '--quiet',
      '--format=tar',
      def.suite,
      `${tar}.partial`,
      mirror,
    ]);
    await rename(`${tar}.partial`, tar);
    log.info(`  mmdebstrap took ${((Date.now() - started) / 1000).toFixed(0)}s`);
  }

  log.step(`image '${def.name}': assembling the ext4 root disk (${def.size} bytes)`);
  const work = `${dir}.partial`;
  const root = join(work, 'root');
  await rm(work, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  await host('tar', ['--numeric-owner', '-xpf', tar, '-C', root]);
  await installGuestFiles(root, keys);
  const rootfs = join(work, 'rootfs.img');
  await host('mkfs.ext4', ['-q', '-F', '-L', 'rootfs', '-d', root, rootfs, `${Math.ceil(def.size / 1024)}k`]);
  await rm(root, { recursive: true, force: true });
  const artifact: ImageArtifact = {
    name: def.name,
    dir,
    rootfs: join(dir, 'rootfs.img'),
    sha256: await sha256File(rootfs),
    suite: def.suite,
    packages,
    createdAt: new Date().toISOString(),
    // Size and mtime at creation (kept by the rename below): the cheap check before every boot.
    stamps: { [join(dir, 'rootfs.img')]: await stampOf(rootfs) },
    ...(arch === 'x86_64' ? {} : { arch }),
  };
  await writeManifest(join(work, 'manifest.json'), artifact);
  await rm(dir, { recursive: true, force: true });
  await rename(work, dir);
  await writeManifest(currentPath, artifact);
  return { artifact, cached: false };
}

async function installGuestFiles(root: string, keys: KeyPaths): Promise<void> {
  const put = async (src: string, dest: string, mode: number) => {
    await mkdir(join(root, dest, '..'), { recursive: true });
    await copyFile(src, join(root, dest));
    await chmod(join(root, dest), mode);
  };
  await put(join(projectRoot, 'images/guest/harness-init.sh'), 'sbin/harness-init', 0o755);
  await put(join(projectRoot, 'images/guest/sshd_config'), 'etc/ssh/sshd_config', 0o644);
  await host('sh', ['-c', 'rm -f "$1"/etc/ssh/ssh_host_*', 'sh', root]);
  await put(keys.hostKey, 'etc/ssh/ssh_host_ed25519_key', 0o600);
  await put(keys.hostPub, 'etc/ssh/ssh_host_ed25519_key.pub', 0o644);
  await mkdir(join(root, 'root/.ssh'), { recursive: true, mode: 0o700 });
  await put(keys.clientPub, 'root/.ssh/authorized_keys', 0o600);
  await mkdir(join(root, 'lib/modules'), { recursive: true });
  await writeFile(join(root, 'etc/hostname'), 'ramdax-guest\n');
  await writeFile(join(root, 'etc/fstab'), '# mounts are made by /sbin/harness-init\n');
}
