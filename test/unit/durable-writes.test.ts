// Durable writes: atomic replacement with temp names no other write can pick
// (the old `${pid}-${Date.now()}` collided for two writes in one millisecond),
// fsync of file and folder, serialized results.json/events.jsonl writes, and one
// writer per run folder. Concurrent writers, in one process and in several.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { tempNameFor, writeFileAtomic } from '../../harness/common/fs.js';
import { LOCK_FILE, lockRunDir } from '../../harness/results/run-lock.js';
import { ResultStore } from '../../harness/results/store.js';
import type { CaseResult, RunResult } from '../../harness/model/results.js';

const root = resolve(import.meta.dirname, '../..');
const tmp = () => mkdtemp(join(tmpdir(), 'ramdax-durable-'));

t.test('temp names are unique within a millisecond and across calls', async (t) => {
  const names = new Set(Array.from({ length: 10_000 }, () => tempNameFor('/x/results.json')));
  t.equal(names.size, 10_000);
  for (const n of [...names].slice(0, 3)) t.match(n, new RegExp(`^/x/results\\.json\\.tmp-${process.pid}-\\d+-[0-9a-f]{12}$`));
});

t.test('200 concurrent atomic writes to one file in one process: one whole version wins, no temp file left', async (t) => {
  const dir = await tmp();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'results.json');
  const payloads = Array.from({ length: 200 }, (_, i) => JSON.stringify({ writer: i, pad: 'x'.repeat(20_000 + i) }));
  await Promise.all(payloads.map((p) => writeFileAtomic(path, p)));
  const final = await readFile(path, 'utf8');
  t.ok(payloads.includes(final), 'the file is exactly one of the versions written');
  t.same(await readdir(dir), ['results.json'], 'no temp files left behind');
});

t.test('4 processes × 100 writes with a reader polling: never a torn or missing file', async (t) => {
  const dir = await tmp();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'results.json');
  await writeFileAtomic(path, JSON.stringify({ writer: 'init' }));
  const script = join(dir, 'writer.mts');
  await writeFile(script, `import { writeFileAtomic } from ${JSON.stringify(join(root, 'harness/common/fs.ts'))};\nconst [path, id] = process.argv.slice(2);\nfor (let i = 0; i < 100; i++) await writeFileAtomic(path, JSON.stringify({ writer: id, i, pad: 'y'.repeat(50_000) }));\n`);
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const writers = [1, 2, 3, 4].map((id) => new Promise<number | null>((res) => spawn(process.execPath, ['--import=tsx', script, path, String(id)], { cwd: root, env, stdio: 'inherit' }).once('exit', res)));
  let done = false;
  void Promise.all(writers).then(() => (done = true));
  let reads = 0;
  let torn = 0;
  while (!done) {
    const text = await readFile(path, 'utf8').catch(() => '');
    try {
      JSON.parse(text);
    } catch {
      torn++;
    }
    reads++;
  }
  t.same(await Promise.all(writers), [0, 0, 0, 0], 'every writer finished');
  t.equal(torn, 0, `${reads} reads during the writes, none torn or missing`);
  t.match(JSON.parse(await readFile(path, 'utf8')), { i: 99 }, 'the last version is a final one');
  t.same((await readdir(dir)).filter((f) => f.includes('.tmp-')), [], 'no temp files left behind');
});

const run = (runId: string): Omit<RunResult, 'dir'> => ({
  runId,
  startedAt: new Date().toISOString(),
  status: 'running',
  harness: { version: 'test', node: process.version },
  qemu: 'none',
  host: { cpu: 'x', cores: 2, loadavg: [0, 0, 0], memTotalBytes: 1, kernel: 'x' },
  cases: [],
  counts: { pass: 0, fail: 0, error: 0, miss: 0, skip: 0 },
});
const caseResult = (id: string): CaseResult => ({ id, scenario: id, status: 'pass', durationMs: 1, points: [{ id: 1, name: 'boot', kind: 'boot', status: 'pass', durationMs: 1 }] }) as unknown as CaseResult;

t.test('two jobs ending cases together: results.json holds every case, events.jsonl every line whole', async (t) => {
  const dir = await tmp();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await ResultStore.create(dir, run('r1'));
  // The store is a reporter on the case streams: each case's last event and its result, all 40 at once.
  const planned = (id: string) => ({ id, scenario: id, steps: 0 });
  await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      Promise.all([store.onEvent(planned(`case-${i}`), { type: 'case-ended', at: Date.now() }), store.onCaseEnd(planned(`case-${i}`), caseResult(`case-${i}`))]),
    ),
  );
  await store.close();
  const json = JSON.parse(await readFile(join(store.dir, 'results.json'), 'utf8'));
  t.equal(json.cases.length, 40, 'no case lost');
  const events = (await readFile(join(store.dir, 'events.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  t.equal(events.length, 40);
  t.equal(store.writeError, undefined);
});

t.test('one writer per run folder: a second is refused naming the first; a dead holder is taken over', async (t) => {
  const dir = await tmp();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await ResultStore.create(dir, run('r2'));
  await t.rejects(ResultStore.create(dir, run('r2')), { message: new RegExp(`is being written by a run \\(pid ${process.pid}\\): one writer per run folder`) });
  await t.rejects(lockRunDir(store.dir, 'report'), /one writer per run folder/, 'report waits for the run to end');
  await store.close();
  t.notOk(existsSync(join(store.dir, LOCK_FILE)), 'released at the end of the run');
  const report = await lockRunDir(store.dir, 'report');
  await report.release();
  await writeFile(join(store.dir, LOCK_FILE), JSON.stringify({ pid: 999_999_999, start: '1', what: 'a run' }));
  const again = await lockRunDir(store.dir, 'a run');
  t.pass('a lock left by a killed writer is taken over');
  await again.release();
});
