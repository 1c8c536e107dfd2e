import { execa } from 'execa';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { HarnessError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { firstErrors, formatDuration } from './make-log.js';
import { makeArgs, type Toolchain } from './toolchain.js';

export interface MakeResult {
  wallMs: number;
  /** C files compiled (0 when nothing changed). */
  objects: number;
}

/**
 * `make -jN TARGET` with the full log in `logPath` and one progress line
 * every `everyMs`. A failure throws an infra error (exit 3) carrying the
 * compiler's first error lines and the log path.
 */
export async function runMake(
  o: { srcDir: string; objDir: string; tc: Toolchain; target: string; logPath: string; kernel: string; everyMs?: number },
  log: Logger,
): Promise<MakeResult> {
  const started = Date.now();
  const out = createWriteStream(o.logPath);
  const args = makeArgs(o.srcDir, o.objDir, o.tc, [o.target], [`-j${o.tc.jobs}`]);
  const child = execa('nice', ['-n', String(o.tc.nice), 'make', ...args], { reject: false, all: true, env: o.tc.env, stdin: 'ignore', buffer: false });
  let objects = 0;
  let last = '';
  const lines = createInterface({ input: child.all! });
  const closed = new Promise<void>((r) => lines.once('close', () => r()));
  lines.on('line', (l) => {
    out.write(`${l}\n`);
    if (/^\s{2}CC\s/.test(l)) objects++;
    if (/^\s{2}[A-Z]+\s/.test(l)) last = l.trim().replace(/\s+/g, ' ');
  });
  const timer = setInterval(() => log.info(`  make ${o.target}: ${objects} C files compiled, ${formatDuration(Date.now() - started)} (${last})`), o.everyMs ?? 10_000);
  const result = await child.finally(() => clearInterval(timer));
  await closed;
  await new Promise<void>((r) => out.end(r));
  if (result.exitCode !== 0) {
    const text = await readFile(o.logPath, 'utf8');
    const errors = firstErrors(text);
    throw new HarnessError(
      'infra',
      `kernel '${o.kernel}': make ${o.target} failed (${result.exitCode !== undefined ? `exit ${result.exitCode}` : (result.signal ?? 'killed')}) after ${formatDuration(Date.now() - started)}\n${errors.map((e) => `  ${e}`).join('\n')}\nfull log: ${o.logPath}`,
    );
  }
  return { wallMs: Date.now() - started, objects };
}
