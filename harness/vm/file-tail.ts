import { closeSync, fstatSync, openSync, readSync, watch, type FSWatcher } from 'node:fs';

export interface TailOptions {
  /** Delay from a change to the read that collects it (and between reads while the file keeps growing). */
  readDelayMs: number;
  /** While waiting for a change, read anyway this often: a file system whose change events never come still gets read. */
  safetyMs: number;
}

export const DEFAULT_TAIL: TailOptions = { readDelayMs: 50, safetyMs: 1000 };

/**
 * Follows a file another process appends to (QEMU's console file) and hands
 * what is new to `sink`, waking the harness as little as possible:
 *  - it waits for the kernel to say the file changed (fs.watch, inotify), then
 *    reads `readDelayMs` later, with the watch closed meanwhile: QEMU writes the
 *    serial console one byte at a time, and a pipe woke the harness for nearly
 *    every byte (about 13,000 reads in one boot);
 *  - while the file keeps growing it reads every `readDelayMs`; the first read
 *    that finds nothing goes back to waiting, so a quiet guest (a long fio
 *    run) costs one wake-up a second (`safetyMs`, in case change events never
 *    come), where a steady poll would wake 20 times a second.
 * If watching fails, it falls back to reading every `readDelayMs`.
 *
 * `sink` gets a view of a reused buffer: it must consume it synchronously.
 * A read error stops the tail and is kept in `error`; nothing is thrown from
 * a timer or a watcher.
 */
export class FileTail {
  error: Error | undefined;
  /** How many reads found new bytes / found nothing, and how often a change woke the tail: for tests and benchmarks. */
  readonly stats = { reads: 0, emptyReads: 0, wakes: 0 };
  private pos: number;
  private fd: number | undefined;
  private readTimer: NodeJS.Timeout | undefined;
  private safetyTimer: NodeJS.Timeout | undefined;
  private watcher: FSWatcher | undefined;
  private watchFailed = false;
  private readonly buf = Buffer.allocUnsafe(64 * 1024);

  /** Opens (creating) `path` and starts at its current end: earlier content is not replayed. */
  constructor(
    private readonly path: string,
    private readonly sink: (chunk: Buffer) => void,
    private readonly o: TailOptions = DEFAULT_TAIL,
  ) {
    this.fd = openSync(path, 'a+');
    this.pos = fstatSync(this.fd).size;
    this.waitForChange();
  }

  /** Read everything new now; the number of bytes read. */
  drain(): number {
    if (this.fd === undefined) return 0;
    let total = 0;
    try {
      for (;;) {
        const n = readSync(this.fd, this.buf, 0, this.buf.length, this.pos);
        if (n <= 0) break;
        this.pos += n;
        total += n;
        this.sink(this.buf.subarray(0, n));
      }
    } catch (err) {
      this.error = err as Error;
      this.stop();
    }
    if (total > 0) this.stats.reads++;
    else this.stats.emptyReads++;
    return total;
  }

  /** A last read, then stop. Idempotent. */
  close(): void {
    this.drain();
    this.stop();
  }

  /** Read in `readDelayMs`, not watching meanwhile; then read again or go back to waiting. */
  private schedule(): void {
    this.stopWaiting();
    if (this.readTimer || this.fd === undefined) return;
    this.readTimer = setTimeout(() => {
      this.readTimer = undefined;
      if (this.drain() > 0 || this.watchFailed) this.schedule();
      else this.waitForChange();
    }, this.o.readDelayMs).unref();
  }

  private waitForChange(): void {
    if (this.fd === undefined) return;
    try {
      this.watcher = watch(this.path, { persistent: false }, () => this.wake());
      this.watcher.on('error', () => {
        this.watchFailed = true;
        this.schedule();
      });
    } catch {
      this.watchFailed = true;
      this.schedule();
      return;
    }
    this.safetyTimer = setInterval(() => {
      if (this.drain() > 0) this.schedule();
    }, this.o.safetyMs).unref();
    // Bytes written before the watch began raise no event: look once more.
    if (this.drain() > 0) this.schedule();
  }

  private wake(): void {
    this.stats.wakes++;
    this.schedule();
  }

  private stopWaiting(): void {
    this.watcher?.close();
    this.watcher = undefined;
    clearInterval(this.safetyTimer);
    this.safetyTimer = undefined;
  }

  private stop(): void {
    this.stopWaiting();
    clearTimeout(this.readTimer);
    this.readTimer = undefined;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
