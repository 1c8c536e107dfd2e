// The record of live VMs and files: a harness killed with SIGKILL leaves its
// record; the next start kills what still runs (same pid and start time only)
// and removes the files, and leaves the records of running harnesses alone.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeReap, LiveRegistry, liveRoot, processStart, reapDeadOwners } from '../../harness/vm/live-registry.js';
import { withParentDeathSignal } from '../../harness/vm/pdeathsig.js';

const root = resolve(import.meta.dirname, '../..');

/**
 * A stand-in harness in its own node process: opens a registry in `cache`,
 * starts `sleep` without a parent-death signal (a QEMU that escaped it), records
 * it and a file, prints the sleep's pid, then waits to be killed.
 */
const FAKE_HARNESS = `
import { LiveRegistry, processStart } from ${JSON.stringify(join(root, 'harness/vm/live-registry.ts'))};
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
const [cache, file] = process.argv.slice(2);
const reg = LiveRegistry.open(cache);
const child = spawn('sleep', ['600'], { stdio: 'ignore', detached: true });
reg.track({ kind: 'qemu', pid: child.pid, start: processStart(child.pid), name: 'fake-vm' });
writeFileSync(file, 'ram');
reg.track({ kind: 'ram-file', path: file });
console.log(child.pid);
setInterval(() => {}, 1000);
`;

t.test('a SIGKILLed harness: the next start kills its leftover process and removes its files', async (t) => {
  const cache = await mkdtemp(join(tmpdir(), 'ramdax-live-'));
  t.teardown(() => rm(cache, { recursive: true, force: true }));
  const script = join(cache, 'fake.mts');
  await writeFile(script, FAKE_HARNESS);
  const leftover = join(cache, 'ram-file');
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const fake = spawn(process.execPath, ['--import=tsx', script, cache, leftover], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
  const sleepPid = Number(await new Promise<string>((res) => fake.stdout!.once('data', (d: Buffer) => res(d.toString().trim()))));
  t.ok(processStart(sleepPid), 'the leftover process runs');
  const mine = LiveRegistry.open(cache); // a running harness: its record must survive the reap
  mine.track({ kind: 'file', path: join(cache, 'mine') });
  await writeFile(join(cache, 'mine'), 'x');

  fake.kill('SIGKILL');
  await new Promise((r) => fake.once('exit', r));
  t.ok(processStart(sleepPid), 'it outlived its harness (no parent-death signal here)');
  t.equal(readdirSync(liveRoot(cache)).length, 2, 'two record folders: the dead harness and this one');

  const report = await reapDeadOwners(cache);
  t.same(report.owners, [fake.pid], 'only the dead harness was reaped');
  t.same(report.killed.map((k) => k.pid), [sleepPid]);
  t.equal(processStart(sleepPid), undefined, 'the leftover process is gone');
  t.same(report.removed, [leftover]);
  t.notOk(existsSync(leftover), 'its file is gone');
  t.ok(existsSync(join(cache, 'mine')), "a running harness's file is untouched");
  t.ok(existsSync(mine.dir), "a running harness's record is untouched");
  t.match(describeReap(report), new RegExp(`cleaned up after harness process ${fake.pid} .*killed 1 QEMU \\(pid ${sleepPid} fake-vm\\); removed ${leftover}`));
  t.same((await reapDeadOwners(cache)).owners, [], 'a second start finds nothing');
});

t.test('a recorded pid now used by another process is not killed (start time differs)', async (t) => {
  const cache = await mkdtemp(join(tmpdir(), 'ramdax-live-'));
  t.teardown(() => rm(cache, { recursive: true, force: true }));
  const other = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.teardown(() => other.kill('SIGKILL'));
  const dead = join(liveRoot(cache), '999999999-1');
  await import('node:fs/promises').then((fs) => fs.mkdir(dead, { recursive: true }));
  await writeFile(join(dead, 'qemu-1.json'), JSON.stringify({ kind: 'qemu', pid: other.pid, start: '1', name: 'reused' }));
  const report = await reapDeadOwners(cache);
  t.same(report.killed, []);
  t.same(report.alreadyGone, [other.pid]);
  t.ok(processStart(other.pid!), 'the unrelated process still runs');
});

t.test('setpriv --pdeathsig KILL: the child dies with its node parent (SIGKILL), within 3 s', async (t) => {
  const cmd = withParentDeathSignal('sleep', ['600']);
  t.ok(cmd.guarded, 'setpriv is on this host');
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const parent = spawn(process.execPath, ['-e', `const c = require('node:child_process').spawn(${JSON.stringify(cmd.file)}, ${JSON.stringify(cmd.args)}, { stdio: 'ignore' }); console.log(c.pid); setInterval(() => {}, 1000);`], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const childPid = Number(await new Promise<string>((res) => parent.stdout!.once('data', (d: Buffer) => res(d.toString().trim()))));
  await sleep(300);
  t.ok(processStart(childPid), 'the child runs');
  const t0 = Date.now();
  parent.kill('SIGKILL');
  while (processStart(childPid) && Date.now() - t0 < 3000) await sleep(20);
  t.equal(processStart(childPid), undefined, `the child was gone ${Date.now() - t0} ms after its parent was SIGKILLed`);
});

t.test('a harness that ends normally leaves no record (its QMP folder goes with it)', async (t) => {
  const cache = await mkdtemp(join(tmpdir(), 'ramdax-live-'));
  t.teardown(() => rm(cache, { recursive: true, force: true }));
  const reg = LiveRegistry.open(cache);
  const qmp = await mkdtemp(join(tmpdir(), 'ramdax-qmp-test-'));
  reg.track({ kind: 'qmp-dir', path: qmp });
  const forget = reg.track({ kind: 'qemu', pid: 1, start: '1' });
  forget();
  reg.close();
  t.notOk(existsSync(qmp), 'the QMP folder is removed');
  t.notOk(existsSync(reg.dir), 'the record folder is removed');
});
