import { host } from '../common/exec.js';
import type { Logger } from '../common/log.js';

/** Debian packages the host needs; binaries checked first so a non-Debian host with them still works. */
export const HOST_PACKAGES = [
  'qemu-system-x86',
  'qemu-utils',
  'mmdebstrap',
  'openssh-client',
  'busybox-static',
  'kmod',
  'cpio',
  'xz-utils',
  'e2fsprogs',
  'gzip',
  // Renders report.html headless in the tests (screenshot and DOM checks).
  'chromium',
] as const;

async function installed(pkg: string): Promise<boolean> {
  try {
    const { stdout } = await host('dpkg-query', ['-W', '-f=${Status}', pkg]);
    return stdout.includes('install ok installed');
  } catch {
    return false;
  }
}

export async function ensureHostPackages(log: Logger): Promise<{ installed: string[] }> {
  const missing: string[] = [];
  for (const pkg of HOST_PACKAGES) if (!(await installed(pkg))) missing.push(pkg);
  if (missing.length === 0) {
    log.info(`host packages: all ${HOST_PACKAGES.length} present`);
    return { installed: [] };
  }
  log.step(`host packages: installing ${missing.join(' ')} with apt-get`);
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  await host('apt-get', ['update'], { env });
  await host('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env });
  return { installed: missing };
}
