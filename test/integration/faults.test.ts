/**
 * Real QEMU fault injection: hung guest, QEMU SIGKILLed mid-run, SSH dropped,
 * host port taken, results folder unwritable or full, SIGINT to the harness,
 * and a reproducer bundle that reproduces by hand. For each: the right status,
 * an end within deadline + 10 s, no QEMU left behind, finished results on disk.
 */
import t from 'tap';
import { createServer } from 'node:net';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { bin, cli, parseTap, root, tempDir } from '../helpers/cli.js';

const fixture = (n: string) => `test/fixtures/scenarios/${n}.yaml`;
const timings: [string, number][] = [];

/** QEMU processes whose command line mentions `needle` (QEMU is named `ramdax-harness:<run-id>:<case>`). */
async function qemusWith(needle: string): Promise<string[]> {
  const r = await execa('pgrep', ['-f', `qemu-system-x86_64.*${needle}`], { reject: false });
  return r.stdout.split('\n').filter(Boolean);
}

async function runJson(results: string) {
  const runId = (await readdir(results))[0]!;
  const dir = join(results, runId);
  return { dir, runId, json: JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) };
}

/** The run id of the (only) run in a results folder. */
const runIdIn = async (results: string) => `ramdax-harness:${(await readdir(results))[0]}:`;

/** Start the CLI in the background and resolve when stdout matches `re`. */
function startUntil(args: string[], re: RegExp) {
  const child = execa('node', [bin, ...args], { cwd: root, reject: false, stdin: 'ignore', env: { NODE_OPTIONS: '' } });
  let out = '';
  const seen = new Promise<void>((resolve) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (re.test(out)) resolve();
    });
  });
  return { child, seen };
}

t.test('hung guest: step deadline, guest found unresponsive, QEMU stopped', async (t) => {
  const results = await tempDir('ramdax-hang-');
  const t0 = Date.now();
  const r = await cli(['run', fixture('fault-hang'), '--results', results]);
  const ms = Date.now() - t0;
  timings.push(['hung guest (step timeout 10s)', ms]);
  t.equal(r.exitCode, 1, 'exit 1: the step failed');
  const { json } = await runJson(results);
  const c = json.cases[0];
  t.same(c.points.map((p: { status: string }) => p.status).slice(0, 3), ['pass', 'fail', 'miss']);
  t.match(c.points[1].reason, /timed out after 10s[\s\S]*no longer answers SSH/);
  t.ok(ms < 9_000 + 10_000 + 5_000 + 5_000 + 10_000 + 30_000, `ended in ${(ms / 1000).toFixed(1)}s (boot + step deadline + probe + teardown + 10s)`);
  t.same(await qemusWith(await runIdIn(results)), [], 'no QEMU left');
});

t.test('QEMU SIGKILLed mid-step: error, rest missed, exit 3', async (t) => {
  const results = await tempDir('ramdax-kill-');
  const t0 = Date.now();
  const { child, seen } = startUntil(['run', fixture('fault-long'), '--results', results], /ok 2 - run: echo started/);
  await seen;
  await sleep(1000);
  const pids = await qemusWith(await runIdIn(results));
  t.equal(pids.length, 1, 'one QEMU running');
  const killedAt = Date.now();
  await execa('kill', ['-KILL', ...pids]);
  const r = await child;
  timings.push(['QEMU SIGKILL mid-step', Date.now() - killedAt]);
  t.equal(r.exitCode, 3, 'exit 3: not the kernel, the host broke');
  t.ok(Date.now() - killedAt < 10_000, `ended ${((Date.now() - killedAt) / 1000).toFixed(1)}s after the kill`);
  const { json } = await runJson(results);
  const c = json.cases[0];
  t.equal(c.points[2].status, 'error');
  t.match(c.points[2].reason, /QEMU exited \(SIGKILL\)/);
  t.equal(c.points[3].status, 'miss');
  t.ok(Date.now() - t0 < 120_000);
});

t.test('SSH connection dropped under a command: error, rest missed', async (t) => {
  const results = await tempDir('ramdax-ssh-');
  const t0 = Date.now();
  const r = await cli(['run', fixture('fault-ssh-drop'), '--results', results]);
  timings.push(['SSH dropped mid-step', Date.now() - t0]);
  t.equal(r.exitCode, 3);
  const { json } = await runJson(results);
  const c = json.cases[0];
  t.equal(c.points[1].status, 'error');
  t.match(c.points[1].reason, /SSH connection (closed|error)/);
  t.equal(c.points[2].status, 'miss');
  t.same(await qemusWith(await runIdIn(results)), [], 'no QEMU left');
});

t.test('host port already taken: QEMU retried on a free port', async (t) => {
  const srv = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const port = (srv.address() as { port: number }).port;
  const results = await tempDir('ramdax-port-');
  const t0 = Date.now();
  const r = await cli(['run', 'scenarios/boot-smoke.yaml', '--ssh-port', String(port), '--results', results]);
  timings.push(['host port taken (retry)', Date.now() - t0]);
  srv.close();
  t.equal(r.exitCode, 0, 'the case still passes');
  t.match(String(r.stderr), new RegExp(`SSH port ${port} was taken, retrying`));
  const { json } = await runJson(results);
  t.not(json.cases[0].sshPort, port, 'another port was used');
});

t.test('results folder cannot be created: exit 3, nothing started', async (t) => {
  const t0 = Date.now();
  const others = new Set(await qemusWith('ramdax-harness:'));
  const r = await cli(['run', 'scenarios/boot-smoke.yaml', '--results', '/etc/hostname/results']);
  timings.push(['results folder unwritable', Date.now() - t0]);
  t.equal(r.exitCode, 3);
  t.match(String(r.stderr), /cannot create a run folder in \/etc\/hostname\/results: nothing was started/);
  t.equal(String(r.stdout), '', 'no TAP: nothing ran');
  t.same((await qemusWith('ramdax-harness:')).filter((p) => !others.has(p)), [], 'no QEMU was started (other runs on the host aside)');
});

t.test('results disk full mid-run: TAP still streams, exit 3, QEMU gone', async (t) => {
  const mnt = await tempDir('ramdax-full-');
  await execa('mount', ['-t', 'tmpfs', '-o', 'size=48k', 'tmpfs', mnt]);
  t.teardown(() => execa('umount', ['-l', mnt], { reject: false }));
  const t0 = Date.now();
  const r = await cli(['run', 'scenarios/boot-smoke.yaml', '--results', mnt]);
  timings.push(['results disk full', Date.now() - t0]);
  t.equal(r.exitCode, 3, 'exit 3: results incomplete on disk');
  t.match(String(r.stderr), /results are incomplete on disk/);
  const tap = await parseTap(String(r.stdout));
  t.equal(tap.points.length, 1, 'the case was still reported on stdout');
  t.same(await qemusWith(await runIdIn(mnt)), [], 'no QEMU left');
});

t.test('SIGINT: unfinished points marked, results flushed, QEMU gone, exit 130', async (t) => {
  const results = await tempDir('ramdax-int-');
  const { child, seen } = startUntil(['run', fixture('fault-long'), 'scenarios/boot-smoke.yaml', '--results', results], /ok 2 - run: echo started/);
  await seen;
  await sleep(1000);
  const sentAt = Date.now();
  child.kill('SIGINT');
  const r = await child;
  timings.push(['SIGINT to the harness', Date.now() - sentAt]);
  t.equal(r.exitCode, 130);
  t.ok(Date.now() - sentAt < 20_000, `ended ${((Date.now() - sentAt) / 1000).toFixed(1)}s after SIGINT (teardown 10s + 10s)`);
  const { json } = await runJson(results);
  t.equal(json.status, 'interrupted');
  const long = json.cases.find((c: { id: string }) => c.id === 'fault-long');
  t.equal(long.points[1].status, 'pass', 'finished point kept');
  t.match(long.points[2].reason, /interrupted by SIGINT/);
  t.equal(long.points[3].status, 'miss');
  const smoke = json.cases.find((c: { id: string }) => c.id === 'boot-smoke');
  t.equal(smoke.points[0].status, 'miss', 'the case that never started is marked missed');
  t.same(await qemusWith(await runIdIn(results)), [], 'no QEMU left');
});

t.test('repro bundle: repro.sh reproduces the failure by hand, `repro` re-runs the case', async (t) => {
  const results = await tempDir('ramdax-repro-');
  await cli(['run', fixture('step-fails'), '--results', results]);
  const { dir } = await runJson(results);
  const repro = join(dir, 'step-fails', 'repro');
  for (const f of ['repro.sh', 'case.json', 'scenario.yaml', 'expanded-scenario.yaml', 'qemu-argv.txt', 'cmdline.txt', 'console.log']) {
    t.ok((await readdir(repro)).includes(f), `repro/${f}`);
  }
  const manifest = JSON.parse(await readFile(join(repro, 'case.json'), 'utf8'));
  t.match(manifest.kernel.sha256['vmlinuz'], /^[0-9a-f]{64}$/);
  t.match(manifest.qemuVersion, /QEMU emulator version/);

  // By hand: boot with repro.sh, ssh in, run the failing command.
  const srv = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const port = (srv.address() as { port: number }).port;
  srv.close();
  const vm = execa('bash', [join(repro, 'repro.sh')], { env: { PORT: String(port) }, reject: false, stdin: 'ignore', buffer: false });
  t.teardown(() => void vm.kill('SIGKILL'));
  // repro.sh's own output (hash checks, then QEMU's console), kept for the failure message.
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-4000));
  vm.stdout?.on('data', keep);
  vm.stderr?.on('data', keep);
  let exited = false;
  void vm.then(() => (exited = true));
  let answer: { exitCode?: number; stderr: string } | undefined;
  // It hashes the kernel and the 2 GiB image, then boots under TCG: on a busy host that takes minutes.
  const deadline = Date.now() + 300_000;
  while (!answer && !exited && Date.now() < deadline) {
    await sleep(1000);
    const r = await execa('ssh', ['-i', manifest.sshKey, '-p', String(port), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=3', 'root@127.0.0.1', manifest.failedPoint.commands[0]], { reject: false });
    if (r.exitCode !== 255) answer = { exitCode: r.exitCode, stderr: r.stderr };
  }
  vm.kill('SIGKILL');
  t.equal(answer?.exitCode, 3, `the failing command fails the same way by hand${answer ? '' : ` (no answer; repro.sh ${exited ? 'exited' : 'still running'}; its output ends: ${output.slice(-1500)})`}`);
  t.match(answer?.stderr ?? '', /something broke/);

  const again = await cli(['repro', repro, '--results', results]);
  t.equal(again.exitCode, 1, 'ramdax-harness repro fails the same way');
  t.match(String(again.stdout), /not ok 3 - this command fails/);
});

t.teardown(() => {
  console.log('# fault case | time to end');
  for (const [name, ms] of timings) console.log(`# ${name} | ${(ms / 1000).toFixed(1)}s`);
});
