import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/**
 * Follows a file another process appends to (QEMU's console file): every
 * `intervalMs` it reads whatever is new and hands it to `sink`. QEMU writes
 * the serial console one byte at a time; read from a pipe, that woke the
 * harness for nearly every byte (about 13,000 reads in one boot). A tail
 * reads the same bytes in a few hundred reads.
 *
 * `sink` gets a view of a reused buffer: it must consume it synchronously.
 * A read error stops the tail and is kept in `error`; it never throws from
 * the timer.
 */
export class FileTail {
  error: Error | undefined;
  private pos: number;
  private fd: number | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly buf = Buffer.allocUnsafe(64 * 1024);

  /** Opens (creating) `path` and starts at its current end: earlier content is not replayed. */
  constructor(path: string, private readonly sink: (chunk: Buffer) => void, intervalMs = 50) {
    this.fd = openSync(path, 'a+');
    this.pos = fstatSync(this.fd).size;
    this.timer = setInterval(() => this.drain(), intervalMs).unref();
  }

  /** Read everything new now. */
  drain(): void {
    if (this.fd === undefined) return;
    try {
      for (;;) {
        const n = readSync(this.fd, this.buf, 0, this.buf.length, this.pos);
        if (n <= 0) return;
        this.pos += n;
        this.sink(this.buf.subarray(0, n));
      }
    } catch (err) {
      this.error = err as Error;
      this.stop();
    }
  }

  /** A last read, then stop. Idempotent. */
  close(): void {
    this.drain();
    this.stop();
  }

  private stop(): void {
    clearInterval(this.timer);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
