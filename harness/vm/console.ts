import { EventEmitter } from 'node:events';
import { StringDecoder } from 'node:string_decoder';

export interface ConsoleLine {
  /** Milliseconds since QEMU was started (host clock). */
  t: number;
  text: string;
}

/**
 * The guest serial console as a stream of lines (QEMU itself writes the log
 * file): kept whole and as a bounded tail, and watchable for markers.
 */
export class ConsoleStream extends EventEmitter {
  private partial = '';
  private readonly tailLines: ConsoleLine[] = [];
  private readonly all: ConsoleLine[] = [];
  /** A UTF-8 character split across two reads is decoded whole. */
  private readonly decoder = new StringDecoder('utf8');
  lastOutputAt: number;

  constructor(
    private readonly startedAt: number,
    private readonly now: () => number = Date.now,
    private readonly tailSize = 300,
  ) {
    super();
    this.lastOutputAt = now();
  }

  push(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    this.lastOutputAt = this.now();
    const parts = (this.partial + text).replace(/\r/g, '').split('\n');
    this.partial = parts.pop() ?? '';
    for (const p of parts) this.addLine(p);
  }

  /** Flush a last unterminated line (on QEMU exit). */
  end(): void {
    this.partial += this.decoder.end();
    if (this.partial) this.addLine(this.partial);
    this.partial = '';
  }

  private addLine(text: string): void {
    const line = { t: this.now() - this.startedAt, text };
    this.tailLines.push(line);
    if (this.tailLines.length > this.tailSize) this.tailLines.shift();
    this.all.push(line);
    this.emit('line', line);
  }

  /** Lines seen so far, from index `from` on (indexes are stable). */
  linesFrom(from: number): ConsoleLine[] {
    return this.all.slice(from);
  }

  get lineCount(): number {
    return this.all.length;
  }

  tail(n = 40): string {
    return this.tailLines.slice(-n).map((l) => l.text).join('\n');
  }

  /** The first line matching `re`, already seen or yet to come. */
  find(re: RegExp): ConsoleLine | undefined {
    return this.all.find((l) => re.test(l.text));
  }

  waitFor(re: RegExp, signal: AbortSignal): Promise<ConsoleLine> {
    const seen = this.find(re);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const onLine = (l: ConsoleLine) => {
        if (!re.test(l.text)) return;
        cleanup();
        resolve(l);
      };
      const onAbort = () => {
        cleanup();
        reject(signal.reason);
      };
      const cleanup = () => {
        this.off('line', onLine);
        signal.removeEventListener('abort', onAbort);
      };
      if (signal.aborted) return onAbort();
      this.on('line', onLine);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
