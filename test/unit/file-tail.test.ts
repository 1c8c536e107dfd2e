import t from 'tap';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConsoleStream } from '../../harness/vm/console.js';
import { FileTail } from '../../harness/vm/file-tail.js';

function dir(t: { teardown(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'ramdax-tail-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const fast = { readDelayMs: 10, safetyMs: 1000 };

t.test('a tail delivers what is appended, in order, from the end it opened at', async (t) => {
  const f = join(dir(t), 'console.log');
  writeFileSync(f, 'from an earlier boot\n');
  const got: string[] = [];
  const tail = new FileTail(f, (b) => got.push(b.toString()), fast);
  appendFileSync(f, 'one ');
  await sleep(60);
  appendFileSync(f, 'two ');
  appendFileSync(f, 'three\n');
  await sleep(60);
  t.equal(got.join(''), 'one two three\n', 'earlier content is not replayed; new bytes all arrive');
  t.ok(got.length <= 3, `read in a few reads, not per write (${got.length})`);
  appendFileSync(f, 'last words');
  tail.close();
  t.equal(got.join(''), 'one two three\nlast words', 'close reads what is left before stopping');
  appendFileSync(f, 'after close');
  await sleep(40);
  t.notMatch(got.join(''), /after close/, 'nothing after close');
  tail.close();
  t.equal(tail.error, undefined);
});

t.test('a quiet file costs no reads; the first byte after the quiet wakes the tail at once', async (t) => {
  const f = join(dir(t), 'console.log');
  const got: string[] = [];
  const tail = new FileTail(f, (b) => got.push(b.toString()), fast);
  t.teardown(() => tail.close());
  appendFileSync(f, 'boot\n');
  await sleep(150);
  const quiet = { ...tail.stats };
  t.ok(quiet.wakes >= 1, 'the write woke it');
  await sleep(300);
  t.same(tail.stats, quiet, "no reads at all while the file is quiet (under safetyMs)");
  const at = Date.now();
  appendFileSync(f, 'panic\n');
  while (!got.join('').includes('panic') && Date.now() - at < 2000) await sleep(2);
  t.ok(Date.now() - at < 500, `seen ${Date.now() - at} ms after the write`);
  t.equal(got.join(''), 'boot\npanic\n');
});

t.test('a tail creates a missing file (QEMU appends to it later)', async (t) => {
  const f = join(dir(t), 'new.log');
  const got: string[] = [];
  const tail = new FileTail(f, (b) => got.push(b.toString()), fast);
  appendFileSync(f, 'hello');
  tail.close();
  t.equal(got.join(''), 'hello');
});

t.test('a read error stops the tail and is kept, never thrown from a timer or watcher', async (t) => {
  // A FIFO opens like a file, but a positioned read of it fails (ESPIPE).
  const f = join(dir(t), 'fifo');
  execFileSync('mkfifo', [f]);
  const tail = new FileTail(f, () => t.fail('no data expected'), fast);
  await sleep(30);
  t.match(tail.error?.message ?? '', /ESPIPE/);
  tail.close();
  t.pass('close after an error is quiet');
});

t.test('a console file that cannot be opened fails at once, before QEMU starts', async (t) => {
  t.throws(() => new FileTail(join(dir(t), 'no', 'such', 'dir', 'console.log'), () => undefined), /ENOENT/);
});

t.test('the console decodes a UTF-8 character split across two reads', async (t) => {
  const c = new ConsoleStream(0, () => 0);
  const bytes = Buffer.from('µs ok\n', 'utf8');
  c.push(bytes.subarray(0, 1));
  c.push(bytes.subarray(1));
  c.push(Buffer.from('tail without newline'));
  c.end();
  t.same(c.linesFrom(0).map((l) => l.text), ['µs ok', 'tail without newline']);
});

t.test('while waiting for a change, a slow safety read still looks (for file systems without change events)', async (t) => {
  const f = join(dir(t), 'console.log');
  const tail = new FileTail(f, () => undefined, { readDelayMs: 10, safetyMs: 30 });
  t.teardown(() => tail.close());
  const before = tail.stats.emptyReads;
  await sleep(200);
  t.ok(tail.stats.emptyReads - before >= 3, `safety reads while quiet: ${tail.stats.emptyReads - before}`);
});
