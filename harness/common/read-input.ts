/**
 * Reading an input file without trusting it: only regular files (a FIFO or a
 * device is refused from its stat, never opened for reading — a FIFO would
 * block forever, a device could be endless or have side effects), at most
 * `maxBytes`, UTF-8 only (UTF-16/32 and binary files are named as such), and
 * clear words for symlink loops and dangling links.
 */
import { constants } from 'node:fs';
import { lstat, open, readlink, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { formatSize } from './units.js';

/** A problem with the file as a whole, or at a byte offset of its text. */
export class InputFileError extends Error {
  constructor(
    message: string,
    /** Where in the text (a character offset), when it is about a place in the file. */
    readonly offset?: number,
    /** With `offset`: the decoded text up to the problem, to turn the offset into line:col. */
    readonly text?: string,
  ) {
    super(message);
    this.name = 'InputFileError';
  }
}

/** What kind of file system object this is, in words. */
export function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/** stat() with the errors a user can act on spelled out. */
export async function statInput(path: string): Promise<Stats> {
  try {
    return await stat(path);
  } catch (err) {
    throw new InputFileError(await describeStatError(path, err as NodeJS.ErrnoException));
  }
}

async function describeStatError(path: string, err: NodeJS.ErrnoException): Promise<string> {
  if (err.code === 'ELOOP') return 'a symbolic link loop: following the links never reaches a file';
  if (err.code === 'ENOENT') {
    const link = await lstat(path).catch(() => undefined);
    if (link?.isSymbolicLink()) return `a dangling symbolic link (to ${await readlink(path).catch(() => '?')}, which does not exist)`;
    return 'no such file or folder';
  }
  if (err.code === 'EACCES') return 'permission denied';
  if (err.code === 'ENAMETOOLONG') return 'the path is too long';
  if (err.code === 'ENOTDIR') return 'a part of the path is not a folder';
  return `cannot read file: ${err.message}`;
}

/** The text of a regular UTF-8 file of at most `maxBytes`; InputFileError otherwise. */
export async function readTextInput(path: string, maxBytes: number): Promise<string> {
  const st = await statInput(path);
  if (!st.isFile()) throw new InputFileError(`${kindOf(st)}, not a scenario file: refused without reading it`);
  if (st.size > maxBytes) throw new InputFileError(`the file is ${formatBytes(st.size)}, more than the ${formatSize(maxBytes)} a scenario may have`);
  // O_NONBLOCK: should the path have become a FIFO since the stat, the open does not wait for a writer.
  const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY).catch(async (err: NodeJS.ErrnoException) => {
    throw new InputFileError(await describeStatError(path, err));
  });
  try {
    const again = await fh.stat();
    if (!again.isFile()) throw new InputFileError(`${kindOf(again)}, not a scenario file: refused without reading it`);
    const buf = Buffer.alloc(maxBytes + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > maxBytes) throw new InputFileError(`the file is more than the ${formatSize(maxBytes)} a scenario may have`);
    }
    return decodeUtf8(buf.subarray(0, n));
  } finally {
    await fh.close();
  }
}

const formatBytes = (n: number) => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} bytes`);

/** UTF-8 text (a UTF-8 byte-order mark is dropped); UTF-16/32, NUL bytes and invalid UTF-8 are refused with where. */
export function decodeUtf8(buf: Buffer): string {
  if (buf.length >= 4 && ((buf[0] === 0xff && buf[1] === 0xfe && buf[2] === 0 && buf[3] === 0) || (buf[0] === 0 && buf[1] === 0 && buf[2] === 0xfe && buf[3] === 0xff))) {
    throw new InputFileError('the file is UTF-32 (it starts with a UTF-32 byte-order mark): save it as UTF-8');
  }
  if (buf.length >= 2 && ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0xfe && buf[1] === 0xff))) {
    throw new InputFileError(`the file is UTF-16 (${buf[0] === 0xff ? 'little' : 'big'}-endian byte-order mark): save it as UTF-8`);
  }
  const start = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  const nul = buf.indexOf(0, start);
  let valid: string;
  try {
    valid = new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(start, nul >= 0 ? nul : buf.length));
  } catch {
    const bad = firstInvalidUtf8(buf, start);
    const before = buf.subarray(start, bad).toString('utf8');
    throw new InputFileError(`invalid UTF-8 (byte 0x${buf[bad]!.toString(16).padStart(2, '0')}): save the file as UTF-8`, before.length, before);
  }
  if (nul >= 0) {
    const utf16 = looksUtf16(buf.subarray(start, start + 64));
    throw new InputFileError(`a NUL byte: ${utf16 ? 'the file looks like UTF-16 without a byte-order mark; save it as UTF-8' : 'this is a binary file, not YAML text'}`, valid.length, valid);
  }
  return valid;
}

/** ASCII text in UTF-16 without a byte-order mark: every other byte is NUL, the others are not. */
function looksUtf16(head: Buffer): boolean {
  if (head.length < 4) return false;
  const even = [...head].filter((_, i) => i % 2 === 0);
  const odd = [...head].filter((_, i) => i % 2 === 1);
  const zeros = (xs: number[]) => xs.filter((b) => b === 0).length;
  return (zeros(odd) === odd.length && zeros(even) === 0) || (zeros(even) === even.length && zeros(odd) === 0);
}

/** Offset of the first byte that breaks UTF-8 (the decoder said there is one). */
function firstInvalidUtf8(buf: Buffer, from: number): number {
  let i = from;
  while (i < buf.length) {
    const b = buf[i]!;
    const len = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    if (len === 0) return i;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(i, i + len));
    } catch {
      return i;
    }
    i += len;
  }
  return from;
}
