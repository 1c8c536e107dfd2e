// Pack and unpack a reproducer archive without booting: small stand-in kernel files, a real tar.gz,
// the host-path scan, every hash checked on the way back, tampering and unlisted files refused.
import t from 'tap';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { createHash } from 'node:crypto';
import { silentLogger } from '../../harness/common/log.js';
import { packCase } from '../../harness/report/pack.js';
import { unpackArchive } from '../../harness/results/unpack.js';
import { HarnessError } from '../../harness/common/errors.js';

const root = await mkdtemp(join(tmpdir(), 'ramdax-archive-'));
t.teardown(() => rm(root, { recursive: true, force: true }));
const cache = join(root, 'cache');
const kdir = join(cache, 'kernels', 'k', 'rel');
const runDir = join(root, 'results', 'R1');
const files = { vmlinuz: 'bzImage bytes', 'initrd.img': 'initrd bytes', 'modules.img': 'modules bytes' };

async function setup() {
  await mkdir(kdir, { recursive: true });
  for (const [f, text] of Object.entries(files)) await writeFile(join(kdir, f), text);
  await writeFile(join(kdir, 'config'), 'CONFIG_RAMDAX=m\n');
  await writeFile(join(kdir, 'manifest.json'), JSON.stringify({ config: join(kdir, 'config'), packages: [{ name: 'linux-binary-x', version: '1' }] }));
  await mkdir(join(cache, 'keys'), { recursive: true });
  await writeFile(join(cache, 'keys', 'guest_host_ed25519.pub'), 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITEST guest host key\n');
  await mkdir(join(runDir, 'c1', 'repro'), { recursive: true });
  await writeFile(join(runDir, 'c1', 'console.log'), 'Linux version 7.2.13 (ramdax@ramdax-harness)\n');
  await writeFile(join(runDir, 'c1', 'dmesg.txt'), 'dmesg\n');
  await writeFile(join(runDir, 'c1', 'repro', 'scenario.yaml'), 'name: s1\nsteps:\n  - ramdax: {}\n');
  const argv = ['/usr/bin/qemu-system-x86_64', '-kernel', join(kdir, 'vmlinuz'), '-initrd', join(kdir, 'initrd.img'), '-chardev', `file,id=con0,path=${join(runDir, 'c1', 'console.log')},append=on`, '-drive', `file=${join(cache, 'images', 'x', 'rootfs.img')},format=raw,if=virtio,snapshot=on`, '-drive', `file=${join(kdir, 'modules.img')},format=raw,if=virtio,readonly=on`, '-netdev', 'user,id=net0,hostfwd=tcp:127.0.0.1:40000-:22'];
  const c = {
    id: 'c1', scenario: 's1', file: '/elsewhere/s1.yaml', status: 'fail', startedAt: '', durationMs: 0, boot: {},
    points: [{ id: 1, name: 'boot', kind: 'boot', status: 'pass', durationMs: 0 }, { id: 2, name: 'bind', kind: 'step', status: 'fail', reason: 'x', durationMs: 0, commands: [{ command: 'echo hi', exitCode: 1, stdout: '', stderr: '', durationMs: 1, timedOut: false }] }],
    kernel: { name: 'k', release: '7.2.13', source: 'local', sha256: Object.fromEntries(Object.entries(files).map(([f, text]) => [f, createHashHex(text)])), ramdax: 'module', kind: 'local' },
    image: { name: 'default', sha256: 'f'.repeat(64), rootfs: join(cache, 'images', 'x', 'rootfs.img') },
    qemuArgv: argv, cmdline: 'console=ttyS0 memmap=1G!4G',
    files: { console: 'c1/console.log', dmesg: 'c1/dmesg.txt', repro: 'c1/repro' },
  };
  await writeFile(join(runDir, 'results.json'), JSON.stringify({ runId: 'R1', dir: runDir, startedAt: '', status: 'fail', harness: { version: '0.1.0', node: 'v20' }, host: {}, cases: [c], counts: { pass: 0, fail: 1, error: 0, miss: 0, skip: 0 } }));
}

/** sha256 of the bytes alone (hash.ts's sha256() separates parts with NUL). */
const createHashHex = (text: string) => createHash('sha256').update(text).digest('hex');

await setup();
let archive = '';

t.test('pack: the files, the template without host paths, SHA256SUMS', async (t) => {
  const r = await packCase({ runDir, caseId: 'c1', cacheDir: cache, log: silentLogger });
  archive = r.file;
  t.equal(r.file, join(runDir, 'ramdax-repro-R1-c1.tar.gz'));
  const entries: string[] = [];
  await tar.t({ file: archive, onReadEntry: (e) => entries.push(e.path) });
  for (const f of ['MANIFEST.json', 'SHA256SUMS', 'kernel/vmlinuz', 'kernel/initrd.img', 'kernel/modules.img', 'kernel/config', 'scenario/s1.yaml', 'qemu-argv.template', 'logs/console.log', 'logs/dmesg.txt', 'findings.json', 'report.txt', 'known_hosts', 'image/recipe.json', 'image/packages.txt', 'repro.sh', 'README.txt']) {
    t.ok(entries.includes(`ramdax-repro-R1-c1/${f}`), f);
  }
  const x = join(root, 'x');
  await mkdir(x);
  await tar.x({ file: archive, cwd: x });
  const top = join(x, 'ramdax-repro-R1-c1');
  const template = await readFile(join(top, 'qemu-argv.template'), 'utf8');
  t.notOk(template.includes(root), 'no host path in the template');
  t.match(template, /@KERNEL@[^]*@INITRD@[^]*path=@CONSOLE@[^]*file=@ROOTFS@,[^]*file=@MODULES@,[^]*127\.0\.0\.1:@PORT@-:22/);
  t.equal((await readFile(join(top, 'known_hosts'), 'utf8')).trim(), 'ramdax-guest ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITEST');
  const m = JSON.parse(await readFile(join(top, 'MANIFEST.json'), 'utf8'));
  t.equal(m.kernel.sha256.vmlinuz, createHashHex(files.vmlinuz));
  t.equal(m.outcome.point.name, 'bind');
  t.same(m.outcome.point.commands, ['echo hi']);
  for (const f of await readdir(top)) {
    if ((await readFile(join(top, f)).catch(() => Buffer.alloc(0))).includes(root)) t.fail(`${f} names the host folder`);
  }
});

t.test('unpack: every hash verified; the same archive twice is one folder', async (t) => {
  const a = await unpackArchive(archive, join(root, 'cache-b'), silentLogger);
  t.match(a.lines.join('\n'), /verified: 17 files match SHA256SUMS/);
  const b = await unpackArchive(archive, join(root, 'cache-b'), silentLogger);
  t.equal(a.dir, b.dir);
});

async function rebuilt(name: string, change: (top: string) => Promise<void>): Promise<string> {
  const x = join(root, `t-${name}`);
  await mkdir(x);
  await tar.x({ file: archive, cwd: x });
  await change(join(x, 'ramdax-repro-R1-c1'));
  const out = join(root, `${name}.tar.gz`);
  await tar.c({ gzip: true, cwd: x, file: out }, ['ramdax-repro-R1-c1']);
  return out;
}

async function refused(file: string): Promise<string> {
  try {
    await unpackArchive(file, join(root, `cache-${file.split('/').at(-1)}`), silentLogger);
    return 'accepted';
  } catch (err) {
    return err instanceof HarnessError && err.exitCode === 2 ? err.message : `wrong error: ${String(err)}`;
  }
}

t.test('a changed, an extra or a missing file is bad input (exit 2)', async (t) => {
  t.match(await refused(await rebuilt('changed', (top) => writeFile(join(top, 'kernel', 'config'), 'CONFIG_RAMDAX=y\n'))), /kernel\/config is corrupted \(sha256/);
  t.match(await refused(await rebuilt('extra', (top) => writeFile(join(top, 'kernel', 'evil.ko'), 'x'))), /kernel\/evil\.ko not in SHA256SUMS/);
  t.match(await refused(await rebuilt('missing', (top) => rm(join(top, 'kernel', 'initrd.img')))), /kernel\/initrd\.img is listed in SHA256SUMS but missing/);
  await writeFile(join(root, 'junk.tar.gz'), 'not gzip');
  t.match(await refused(join(root, 'junk.tar.gz')), /not a readable tar\.gz/);
});

t.test('a case that did not fail, or one that names this machine, is not packed', async (t) => {
  const json = JSON.parse(await readFile(join(runDir, 'results.json'), 'utf8'));
  json.cases[0].cmdline = `console=ttyS0 init=${cache}/oops`;
  await writeFile(join(runDir, 'results.json'), JSON.stringify(json));
  await t.rejects(packCase({ runDir, caseId: 'c1', cacheDir: cache, log: silentLogger }), /would name this machine \(refused\): .*cmdline\.txt/);
  json.cases[0].status = 'pass';
  await writeFile(join(runDir, 'results.json'), JSON.stringify(json));
  await t.rejects(packCase({ runDir, caseId: 'c1', cacheDir: cache, log: silentLogger }), /did not fail/);
});
