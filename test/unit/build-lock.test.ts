/**
 * The working-tree lock across real processes: a second build waits for the
 * first, a holder killed with SIGKILL does not block the tree forever, gc's
 * tryLock skips a tree in use.
 */
import t from 'tap';
import { execa } from 'execa';
import { join } from 'node:path';
import { isLocked, tryLock, withLock } from '../../harness/kbuild/build-lock.js';
import { silentLogger, type Logger } from '../../harness/common/log.js';
import { root, tempDir } from '../helpers/cli.js';

/** A child process that takes the lock, says so, and holds it for `holdMs`. */
function holder(path: string, holdMs: number, staleMs = 60_000) {
  const code = `
    import { withLock } from ${JSON.stringify(join(root, 'harness/kbuild/build-lock.ts'))};
    import { silentLogger } from ${JSON.stringify(join(root, 'harness/common/log.ts'))};
    await withLock(${JSON.stringify(path)}, 'test holder', silentLogger, async () => {
      process.stdout.write('locked\\n');
      await new Promise((r) => setTimeout(r, ${holdMs}));
    }, { staleMs: ${staleMs} });`;
  return execa('node', ['--import=tsx', '--input-type=module', '-e', code], { cwd: root, reject: false });
}

async function whenLocked(child: ReturnType<typeof holder>): Promise<void> {
  await new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => d.toString().includes('locked') && resolve()));
}

t.test('a second build waits for the first, and is told who holds the tree', async (t) => {
  const dir = await tempDir('lock-');
  const tree = join(dir, 'tree');
  const child = holder(tree, 2500);
  await whenLocked(child);
  t.ok(await isLocked(tree), 'isLocked sees the holder');
  t.equal(await tryLock(tree), undefined, 'tryLock (gc) does not take a tree in use');
  const said: string[] = [];
  const log: Logger = { ...silentLogger, info: (m) => said.push(m) };
  const started = Date.now();
  const order: string[] = [];
  await withLock(tree, 'second', log, async () => {
    order.push('second ran');
  }, { pollMs: 100 });
  const waited = Date.now() - started;
  await child;
  t.ok(waited >= 1500, `waited ${waited} ms for the holder`);
  t.match(said[0], /^waiting for test holder, pid \d+ on .* since .* to finish with /);
  t.same(order, ['second ran']);
  t.notOk(await isLocked(tree), 'released afterwards');
});

t.test('a holder killed with SIGKILL: its lock goes stale and the next build takes it over', async (t) => {
  const dir = await tempDir('lock-');
  const tree = join(dir, 'tree');
  const child = holder(tree, 60_000, 2000);
  await whenLocked(child);
  child.kill('SIGKILL');
  await child;
  const started = Date.now();
  await withLock(tree, 'after the crash', silentLogger, async () => undefined, { staleMs: 2000, pollMs: 100 });
  const waited = Date.now() - started;
  t.ok(waited < 10_000, `took over after ${waited} ms`);
});

t.test('waiting has a limit', async (t) => {
  const dir = await tempDir('lock-');
  const tree = join(dir, 'tree');
  const child = holder(tree, 3000);
  await whenLocked(child);
  await t.rejects(withLock(tree, 'impatient', silentLogger, async () => undefined, { waitMs: 300, pollMs: 100 }), /gave up waiting for the lock of .*\(held by test holder, pid \d+/);
  await child;
});
