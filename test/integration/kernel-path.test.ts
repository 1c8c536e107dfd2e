/**
 * `run --kernel PATH-to-bzImage --modules DIR --kernel-config FILE --quick`:
 * the quick suite on a kernel given by path, as a developer's own build
 * would be — here Debian's 7.2 vmlinuz, modules and config unpacked from
 * the .debs `setup` cached, into a fixed folder of the cache (so the import
 * is cached across runs). Real QEMU, one shared boot plus a warm reboot.
 */
import t from 'tap';
import { execa } from 'execa';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exists } from '../../harness/common/fs.js';
import { sha256File } from '../../harness/common/hash.js';
import { defaultCacheDir } from '../../harness/common/paths.js';
import { cli, parseTap, tempDir } from '../helpers/cli.js';

t.setTimeout(30 * 60_000);
const cache = defaultCacheDir();
const debs = join(cache, 'debs');
const all = await readdir(debs);
const binary = all.find((f) => /^linux-binary-7\.2\.\d+\+deb\d+-amd64_.*_amd64\.deb$/.test(f));
if (!binary) throw new Error(`no linux-binary-7.2 amd64 .deb in ${debs}: run \`ramdax-harness setup\` first`);
const release = binary.replace(/^linux-binary-/, '').replace(/_.*$/, '');
const root = join(cache, 'test-kernel-by-path');
const kdir = join(root, 'usr', 'lib', 'modules', release);
if (!(await exists(join(kdir, 'vmlinuz'))) || !(await exists(join(kdir, 'kernel')))) {
  await mkdir(root, { recursive: true });
  for (const part of ['binary', 'modules', 'base']) await execa('dpkg-deb', ['-x', join(debs, all.find((f) => f.startsWith(`linux-${part}-${release}_`))!), root]);
}
const vmlinuz = join(kdir, 'vmlinuz');
const args = ['--kernel', vmlinuz, '--modules', kdir, '--kernel-config', join(kdir, 'config')];

t.test('kernel info by path, before and after', async (t) => {
  const info = await cli(['kernel', 'info', ...args]);
  t.equal(info.exitCode, 0, info.stderr);
  t.match(info.stdout, /definition: +command line \(--kernel /);
});

const results = await tempDir('ramdax-it-kpath-');
const run = await cli(['run', '--quick', ...args, '--results', results], { timeoutMs: 25 * 60_000 });

t.test('the quick suite passes on the kernel given by path', async (t) => {
  t.equal(run.exitCode, 0, `exit 0 (stderr tail:\n${String(run.stderr).split('\n').slice(-20).join('\n')})`);
  const tap = await parseTap(String(run.stdout));
  t.ok(tap.ok, 'TAP ok');
  t.same(tap.points.map((p) => p.name), ['ramdax-quick']);
  for (const name of ['both label areas read back as 128 KiB', 'unbind ramdax and bind it again (remove, probe, labels read back)', 'warm reboot (guest reset, RAM kept)']) {
    t.equal(tap.nested.get(`ramdax-quick > ${name}`), true, name);
  }
  t.match(String(run.stderr), /kernel path-vmlinuz-[0-9a-f]{8}: bzImage .*vmlinuz \+ modules .* \+ config /);
});

t.test('the result records the kernel by content and where it came from', async (t) => {
  const runDir = join(results, (await readdir(results)).sort().at(-1)!);
  const res = JSON.parse(await readFile(join(runDir, 'results.json'), 'utf8'));
  const k = res.cases[0].kernel;
  t.match(k.name, /^path-vmlinuz-[0-9a-f]{8}$/);
  t.equal(k.release, release);
  t.equal(k.kind, 'local');
  t.same(k.adhoc, { ref: vmlinuz, kind: 'bzimage' });
  t.equal(k.sha256.vmlinuz, await sha256File(vmlinuz), 'sha256 of the given bzImage');
  t.ok(k.sha256['initrd.img'] && k.sha256['modules.img'], 'its modules went into an initramfs and a modules disk');
  t.equal(k.capabilities.options.RAMDAX, 'module', 'capabilities from the given config');
});

t.test('kernel info by path shows the imported kernel', async (t) => {
  const info = await cli(['kernel', 'info', ...args]);
  t.equal(info.exitCode, 0, info.stderr);
  t.match(info.stdout, new RegExp(`release: +${release.replace(/[+.]/g, '\\$&')}`));
  t.match(info.stdout, new RegExp(`vmlinuz: ${await sha256File(vmlinuz)}`));
});
