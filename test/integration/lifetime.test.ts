/**
 * QEMU never outlives the harness (real QEMU): the harness is SIGKILLed — no
 * signal handler, no teardown, as the OOM killer or a CI timeout would do it —
 * mid-boot and mid-step. QEMU must be gone within 3 s (its parent-death
 * signal), and the next harness start must report and remove what was left:
 * the guest RAM file in /dev/shm, the scratch disk, the QMP socket folder.
 */
import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { bin, cli, root, tempDir } from '../helpers/cli.js';

const cache = process.env.RAMDAX_HARNESS_CACHE ?? join(homedir(), '.cache', 'ramdax-harness');
const scenario = 'test/fixtures/scenarios/fault-leftovers.yaml';
const timings: [string, number][] = [];

async function qemusWith(needle: string): Promise<string[]> {
  const r = await execa('pgrep', ['-f', `qemu-system-x86_64.*${needle}`], { reject: false });
  return r.stdout.split('\n').filter(Boolean);
}

/** What the killed harness recorded: its live folder's records. */
async function recordsOf(pid: number): Promise<{ kind: string; path?: string; pid?: number }[]> {
  const dirs = (await readdir(join(cache, 'live')).catch(() => [])).filter((d) => d.startsWith(`${pid}-`));
  const out = [];
  for (const d of dirs) {
    for (const f of (await readdir(join(cache, 'live', d))).filter((f) => f !== 'owner.json')) out.push(JSON.parse(await readFile(join(cache, 'live', d, f), 'utf8')));
  }
  return out;
}

/** Start `run`, wait for `ready` (given the run id), SIGKILL the harness, time until its QEMU is gone. */
async function killHarness(t: Test, label: string, ready: (out: string) => boolean, thenWaitMs = 0) {
  const results = await tempDir('ramdax-life-');
  const child = execa('node', [bin, 'run', scenario, '--results', results], { cwd: root, reject: false, stdin: 'ignore' });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  let runId = '';
  const deadline = Date.now() + 240_000;
  while (Date.now() < deadline) {
    runId ||= (await readdir(results).catch(() => []))[0] ?? '';
    if (runId && (await qemusWith(`ramdax-harness:${runId}:`)).length && ready(out)) break;
    await sleep(100);
  }
  await sleep(thenWaitMs);
  const qemus = await qemusWith(`ramdax-harness:${runId}:`);
  t.equal(qemus.length, 1, `${label}: one QEMU running when the harness is killed`);
  if (label === 'mid-boot') t.notMatch(out, /ok 1 - boot/, 'the boot point has not ended yet');
  const records = await recordsOf(child.pid!);
  t.ok(records.some((r) => r.kind === 'qemu' && String(r.pid) === qemus[0]), 'the QEMU is recorded in the cache');
  const killedAt = Date.now();
  child.kill('SIGKILL');
  await child;
  while ((await qemusWith(`ramdax-harness:${runId}:`)).length && Date.now() - killedAt < 10_000) await sleep(50);
  const goneMs = Date.now() - killedAt;
  timings.push([`harness SIGKILLed ${label}: QEMU gone`, goneMs]);
  t.same(await qemusWith(`ramdax-harness:${runId}:`), [], `no QEMU left (${goneMs} ms after the kill)`);
  t.ok(goneMs <= 3000, `QEMU gone within 3 s of the harness's death (${goneMs} ms)`);
  const left = (await recordsOf(child.pid!)).filter((r) => r.path);
  t.ok(left.some((r) => r.kind === 'ram-file' && r.path!.startsWith('/dev/shm/ramdax-machine-') && existsSync(r.path!)), 'the guest RAM file is still in /dev/shm');
  t.ok(left.some((r) => r.kind === 'scratch-disk' && existsSync(r.path!)), 'the scratch disk is still there');
  t.ok(left.some((r) => r.kind === 'qmp-dir' && existsSync(r.path!)), 'the QMP socket folder is still there');
  return { pid: child.pid!, left };
}

/** The next harness start (setup: nothing to do, a few seconds) reports and removes the leftovers. */
async function nextStart(t: Test, dead: { pid: number; left: { path?: string }[] }) {
  const t0 = Date.now();
  const r = await cli(['setup', '--no-host-packages']);
  timings.push(['next start cleans up', Date.now() - t0]);
  t.equal(r.exitCode, 0, 'setup: nothing to do');
  t.match(String(r.stderr), new RegExp(`cleaned up after harness process(es)? [\\d, ]*\\b${dead.pid}\\b`), 'it says whose leftovers it cleaned');
  for (const l of dead.left) {
    t.match(String(r.stderr), l.path!, `it names ${l.path}`);
    t.notOk(existsSync(l.path!), `${l.path} is gone`);
  }
  t.same(await recordsOf(dead.pid), [], 'the record is gone');
}

t.test('harness SIGKILLed mid-boot: QEMU gone within 3 s, the next start cleans up', async (t) => {
  // Mid-boot: QEMU has run for 2 s, the kernel has not reached SSH yet (no boot point printed).
  const dead = await killHarness(t, 'mid-boot', () => true, 2000);
  await nextStart(t, dead);
});

t.test('harness SIGKILLed mid-step: QEMU gone within 3 s, the next start cleans up', async (t) => {
  const dead = await killHarness(t, 'mid-step', (out) => /ok 2 - run: echo started/.test(out));
  await nextStart(t, dead);
});

t.teardown(() => {
  console.log('# fault | time');
  for (const [name, ms] of timings) console.log(`# ${name} | ${(ms / 1000).toFixed(2)}s`);
});
