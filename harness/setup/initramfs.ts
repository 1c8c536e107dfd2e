import { chmod, copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join, basename } from 'node:path';
import { infraError } from '../common/errors.js';
import { host } from '../common/exec.js';
import { projectRoot } from '../common/paths.js';

/** What a modular distro kernel needs before it can mount the root disk and reach the network. */
export const INITRAMFS_MODULES = ['virtio_blk', 'virtio_net', 'ext4'];

/** Parse `modprobe --show-depends` output into module paths, in load order, without repeats. */
export function parseShowDepends(output: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const line of output.split('\n')) {
    const m = /^insmod\s+(\S+)/.exec(line.trim());
    if (m && !seen.has(m[1]!)) {
      seen.add(m[1]!);
      out.push(m[1]!);
    }
  }
  return out;
}

/**
 * A busybox initramfs with the root-disk modules, decompressed, and /init.
 * `busybox`: a static busybox of the kernel's architecture (default: the
 * host's /bin/busybox from busybox-static). modprobe and depmod read foreign
 * modules as well as native ones: dependencies come out the same way.
 */
export async function buildInitramfs(o: { modRoot: string; release: string; out: string; workDir: string; busybox?: string }): Promise<void> {
  const busybox = o.busybox || '/bin/busybox';
  await rm(o.workDir, { recursive: true, force: true });
  for (const d of ['bin', 'dev', 'proc', 'sys', 'newroot', 'lib/modules']) await mkdir(join(o.workDir, d), { recursive: true });
  try {
    await copyFile(busybox, join(o.workDir, 'bin/busybox'));
  } catch (err) {
    throw infraError(`cannot copy ${busybox} (is busybox-static installed?)`, err);
  }
  await chmod(join(o.workDir, 'bin/busybox'), 0o755);
  const { stdout } = await host('modprobe', ['-d', o.modRoot, '-S', o.release, '-a', '--show-depends', ...INITRAMFS_MODULES]);
  const list: string[] = [];
  for (const [i, path] of parseShowDepends(stdout).entries()) {
    const name = `${String(i).padStart(2, '0')}-${basename(path).replace(/\.(xz|zst|gz)$/, '')}`;
    const target = join(o.workDir, 'lib/modules', name);
    if (path.endsWith('.xz')) await host('sh', ['-c', 'xz -dc "$1" > "$2"', 'sh', path, target]);
    else if (path.endsWith('.zst')) await host('zstd', ['-q', '-d', '-f', path, '-o', target]);
    else await copyFile(path, target);
    list.push(name);
  }
  await writeFile(join(o.workDir, 'modules.list'), list.map((l) => `${l}\n`).join(''));
  await copyFile(join(projectRoot, 'images/guest/initramfs-init.sh'), join(o.workDir, 'init'));
  await chmod(join(o.workDir, 'init'), 0o755);
  await host('sh', ['-c', 'cd "$1" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet | gzip -1 > "$2"', 'sh', o.workDir, o.out]);
  await rm(o.workDir, { recursive: true, force: true });
}
