/**
 * One private folder per harness process for its QMP sockets (mode 0700,
 * made by mkdtemp with an unpredictable name): no other user can connect to
 * a QEMU monitor or plant a socket at a predictable path. Recorded for the
 * reaper and removed at exit.
 */
import { lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { infraError } from '../common/errors.js';
import { track } from './live-registry.js';

let dir: string | undefined;
let counter = 0;

/** The folder, made on first use; checked to be ours, a real folder, and 0700. */
export function privateSocketDir(): string {
  if (dir) return dir;
  // Unix socket paths are limited to 107 bytes: a short name directly in the temp folder.
  const made = mkdtempSync(join(tmpdir(), 'ramdax-'));
  const st = lstatSync(made);
  if (!st.isDirectory() || (st.mode & 0o777) !== 0o700 || (process.getuid && st.uid !== process.getuid())) {
    throw infraError(`${made} is not a private folder (mode ${(st.mode & 0o777).toString(8)}): refusing to put QEMU's control sockets there`);
  }
  dir = made;
  track({ kind: 'qmp-dir', path: made });
  process.once('exit', () => rmSync(made, { recursive: true, force: true }));
  return dir;
}

/** Every harness QMP socket's file name starts so (repro bundles swap such an argument for their own socket). */
export const QMP_SOCKET_PREFIX = 'ramdax-qmp-';

/** A fresh socket path in the private folder: the one place QMP socket paths are made. */
export function qmpSocketPath(): string {
  return join(privateSocketDir(), `${QMP_SOCKET_PREFIX}${++counter}.sock`);
}
