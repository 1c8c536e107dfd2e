import lockfile from 'proper-lockfile';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { hostname } from 'node:os';
import { HarnessError, infraError } from '../common/errors.js';
import type { Logger } from '../common/log.js';

export interface LockOptions {
  /** A holder that has not refreshed its lock for this long is dead: its lock is taken over (default 60 s). */
  staleMs?: number;
  /** Give up waiting after this long (default 3 h: a cold kernel build of someone else may be running). */
  waitMs?: number;
  /** How often a waiter tries again (default 1 s). */
  pollMs?: number;
}

/** Who holds a lock, written beside it for the messages of those who wait. */
interface Owner {
  pid: number;
  host: string;
  since: string;
  what: string;
}

const lockPath = (path: string) => `${path}.lock`;
const ownerPath = (path: string) => `${path}.lock-owner.json`;

async function owner(path: string): Promise<string> {
  try {
    const o = JSON.parse(await readFile(ownerPath(path), 'utf8')) as Owner;
    return `${o.what}, pid ${o.pid} on ${o.host} since ${o.since}`;
  } catch {
    return 'another process';
  }
}

/**
 * Run `fn` holding the lock of `path` (a working tree and its object
 * folders): builds of the same tree wait for each other instead of
 * rewriting files under a running make. The lock is a directory
 * (`PATH.lock`, proper-lockfile) refreshed every few seconds; a holder that
 * died (kill -9, power loss) stops refreshing it and a waiter takes it over
 * after `staleMs`.
 */
export async function withLock<T>(path: string, what: string, log: Logger, fn: () => Promise<T>, o: LockOptions = {}): Promise<T> {
  const staleMs = o.staleMs ?? 60_000;
  const started = Date.now();
  let compromised: Error | undefined;
  const opts = {
    realpath: false,
    lockfilePath: lockPath(path),
    stale: staleMs,
    update: Math.max(1000, Math.floor(staleMs / 4)),
    onCompromised: (err: Error) => {
      compromised = err;
      log.warn(`lock ${lockPath(path)} was lost (${err.message}); another build may now use the same tree`);
    },
  };
  await mkdir(dirname(path), { recursive: true });
  let release: (() => Promise<void>) | undefined;
  let told = false;
  while (!release) {
    try {
      release = await lockfile.lock(path, opts);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw infraError(`cannot lock ${path}`, err);
      if (!told) {
        log.info(`waiting for ${await owner(path)} to finish with ${path}`);
        told = true;
      }
      if (Date.now() - started > (o.waitMs ?? 3 * 3_600_000)) throw infraError(`gave up waiting for the lock of ${path} after ${Math.round((Date.now() - started) / 1000)} s (held by ${await owner(path)})`);
      await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
    }
  }
  if (told) log.info(`got ${path} after ${Math.round((Date.now() - started) / 1000)} s`);
  const me: Owner = { pid: process.pid, host: hostname(), since: new Date().toISOString(), what };
  await writeFile(ownerPath(path), `${JSON.stringify(me)}\n`).catch(() => undefined);
  try {
    return await fn();
  } finally {
    await rm(ownerPath(path), { force: true });
    await release().catch((err: unknown) => {
      if (!compromised) throw err instanceof HarnessError ? err : infraError(`cannot release the lock of ${path}`, err);
    });
  }
}

/** True while some live process holds the lock of `path`. */
export function isLocked(path: string, staleMs = 60_000): Promise<boolean> {
  return lockfile.check(path, { realpath: false, lockfilePath: lockPath(path), stale: staleMs }).catch(() => false);
}

/** Take the lock of `path` only if nobody holds it (for gc: a tree in use is skipped, never waited for). */
export async function tryLock(path: string, staleMs = 60_000): Promise<(() => Promise<void>) | undefined> {
  try {
    return await lockfile.lock(path, { realpath: false, lockfilePath: lockPath(path), stale: staleMs, update: Math.max(1000, Math.floor(staleMs / 4)), onCompromised: () => undefined });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED') return undefined;
    throw infraError(`cannot lock ${path}`, err);
  }
}
