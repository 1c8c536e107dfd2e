import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { host } from '../common/exec.js';
import { exists } from '../common/fs.js';
import type { Logger } from '../common/log.js';

/** The per-install SSH keys: the harness's client key and the guest's (pinned) host key. */
export interface KeyPaths {
  clientKey: string;
  clientPub: string;
  hostKey: string;
  hostPub: string;
}

export function keyPaths(cacheDir: string): KeyPaths {
  const dir = join(cacheDir, 'keys');
  return {
    clientKey: join(dir, 'harness_ed25519'),
    clientPub: join(dir, 'harness_ed25519.pub'),
    hostKey: join(dir, 'guest_host_ed25519'),
    hostPub: join(dir, 'guest_host_ed25519.pub'),
  };
}

export async function ensureKeys(cacheDir: string, log: Logger): Promise<KeyPaths> {
  const k = keyPaths(cacheDir);
  await mkdir(join(cacheDir, 'keys'), { recursive: true, mode: 0o700 });
  for (const [key, comment] of [
    [k.clientKey, 'ramdax-harness client'],
    [k.hostKey, 'ramdax-harness guest host key'],
  ] as const) {
    if (await exists(key)) continue;
    log.step(`ssh: generating ${key}`);
    await host('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', key]);
  }
  return k;
}
