/**
 * The guest root image across machines. An install's image carries that
 * install's SSH keys (the guest's private host key, the harness's public
 * client key), so its sha256 is per install and the file must never leave the
 * machine. What does travel:
 *
 * - the recipe (suite, variant, packages, mirror, size, guest files) and the
 *   installed package versions — its sha256 (`packagesSha256`) is the same on
 *   every machine that built the image from the same Debian packages;
 * - with `--with-rootfs`, a portable image: the same cached mmdebstrap tree
 *   and guest files, made with NO keys at all. The receiving side copies it and
 *   writes its own install's keys into the copy with debugfs (no mounts, no
 *   root), so its guest presents the host key it pins.
 */
import { chmod, copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageDef } from '../catalog/schema.js';
import { infraError } from '../common/errors.js';
import { host } from '../common/exec.js';
import { exists } from '../common/fs.js';
import { sha256 } from '../common/hash.js';
import { projectRoot } from '../common/paths.js';
import { debianMirror } from './apt.js';
import type { KeyPaths } from './keys.js';

export interface ImageRecipe {
  name: string;
  suite: string;
  variant: string;
  packages: string[];
  mirror: string;
  size: number;
  /** sha256 of the guest files the harness adds (init, sshd_config). */
  guestFiles: Record<string, string>;
}

const GUEST_FILES = { 'sbin/harness-init': 'images/guest/harness-init.sh', 'etc/ssh/sshd_config': 'images/guest/sshd_config' } as const;

export async function imageRecipe(def: ImageDef): Promise<ImageRecipe> {
  const guestFiles: Record<string, string> = {};
  for (const [dest, src] of Object.entries(GUEST_FILES)) guestFiles[dest] = sha256(await readFile(join(projectRoot, src)));
  return { name: def.name, suite: def.suite, variant: def.variant, packages: [...def.packages].sort(), mirror: debianMirror(), size: def.size, guestFiles };
}

/** `name=version` of every installed package of an ext4 root image, sorted (read with debugfs: no mount). */
export async function imagePackages(rootfs: string): Promise<string[]> {
  const { stdout } = await host('debugfs', ['-R', 'cat /var/lib/dpkg/status', rootfs], { maxBuffer: 1 << 28 });
  return parseDpkgStatus(stdout);
}

/** dpkg's status file → `name=version` of installed packages, sorted (pure). */
export function parseDpkgStatus(text: string): string[] {
  const out: string[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    const name = /^Package: (\S+)/m.exec(para)?.[1];
    const version = /^Version: (\S+)/m.exec(para)?.[1];
    const status = /^Status: (.*)$/m.exec(para)?.[1] ?? '';
    if (name && version && /\binstalled$/.test(status.trim())) out.push(`${name}=${version}`);
  }
  return out.sort();
}

export const packagesSha256 = (pkgs: string[]) => sha256(pkgs.join('\n'));

/** How two package lists differ, for a message: `ndctl 85-1 here, 85-2 in the archive` (pure). */
export function packageDiff(here: string[], there: string[]): string[] {
  const a = new Map(here.map((p) => p.split('=') as [string, string]));
  const b = new Map(there.map((p) => p.split('=') as [string, string]));
  const out: string[] = [];
  for (const [n, v] of b) if (a.get(n) !== v) out.push(`${n} ${a.has(n) ? a.get(n) : 'missing'} here, ${v} in the archive`);
  for (const [n, v] of a) if (!b.has(n)) out.push(`${n} ${v} here, not in the archive`);
  return out;
}

/** The mmdebstrap tarball ensureImage made for this definition (same key as image.ts). */
export function rootfsTar(def: ImageDef, cacheDir: string): string {
  const tarKey = sha256(def.suite, def.variant, [...def.packages].sort().join(','), debianMirror()).slice(0, 16);
  return join(cacheDir, 'images', `rootfs-${def.suite}-${tarKey}.tar`);
}

/** A root image with the same tree and guest files as the install's, and no SSH keys in it. */
export async function buildPortableImage(def: ImageDef, cacheDir: string, out: string): Promise<void> {
  const tar = rootfsTar(def, cacheDir);
  if (!(await exists(tar))) throw infraError(`the image tree ${tar} is not in the cache: run \`ramdax-harness setup\` first`);
  const root = `${out}.root`;
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  try {
    await host('tar', ['--numeric-owner', '-xpf', tar, '-C', root]);
    for (const [dest, src] of Object.entries(GUEST_FILES)) {
      await copyFile(join(projectRoot, src), join(root, dest));
      await chmod(join(root, dest), dest.startsWith('sbin/') ? 0o755 : 0o644);
    }
    await host('sh', ['-c', 'rm -f "$1"/etc/ssh/ssh_host_* "$1"/root/.ssh/authorized_keys', 'sh', root]);
    await mkdir(join(root, 'root/.ssh'), { recursive: true, mode: 0o700 });
    await chmod(join(root, 'root/.ssh'), 0o700);
    await mkdir(join(root, 'lib/modules'), { recursive: true });
    await writeFile(join(root, 'etc/hostname'), 'ramdax-guest\n');
    await writeFile(join(root, 'etc/fstab'), '# mounts are made by /sbin/harness-init\n');
    // Fixed UUID and hash seed: the same tree gives the same file system layout.
    await host('mkfs.ext4', ['-q', '-F', '-L', 'rootfs', '-U', 'clear', '-E', 'hash_seed=00000000-0000-0000-0000-000000000000', '-d', root, out, `${Math.ceil(def.size / 1024)}k`], { env: { SOURCE_DATE_EPOCH: '0', E2FSPROGS_FAKE_TIME: '0' } });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** debugfs commands that write this install's keys into an image, owned by root with sshd's modes (pure). */
export function keyCommands(k: Pick<KeyPaths, 'hostKey' | 'hostPub' | 'clientPub'>): string {
  const put = (src: string, dir: string, name: string, mode: string) =>
    [`cd ${dir}`, `rm ${name}`, `write "${src}" ${name}`, `sif ${name} mode 0100${mode}`, `sif ${name} uid 0`, `sif ${name} gid 0`];
  return [
    ...put(k.hostKey, '/etc/ssh', 'ssh_host_ed25519_key', '600'),
    ...put(k.hostPub, '/etc/ssh', 'ssh_host_ed25519_key.pub', '644'),
    ...put(k.clientPub, '/root/.ssh', 'authorized_keys', '600'),
  ].join('\n');
}

/** Copy a portable image to `out` and give it this install's keys. */
export async function personalizeImage(portable: string, out: string, keys: KeyPaths): Promise<void> {
  await host('cp', ['--sparse=always', portable, out]);
  const cmds = `${out}.debugfs`;
  await writeFile(cmds, `${keyCommands(keys)}\n`);
  try {
    await host('debugfs', ['-w', '-f', cmds, out]);
  } finally {
    await rm(cmds, { force: true });
  }
}
