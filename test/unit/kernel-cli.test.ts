import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { formatInfo, kernelDef, listRow } from '../../harness/cli/kernel-command.js';
import { loadCatalog } from '../../harness/catalog/catalog.js';
import { HarnessError } from '../../harness/common/errors.js';
import { applyKernels, withAxis, withoutAxis } from '../../harness/matrix/kernel-axis.js';
import type { Scenario } from '../../harness/scenario/load.js';
import type { KernelArtifact } from '../../harness/setup/artifacts.js';
import { capabilitiesFromConfig } from '../../harness/setup/capabilities.js';
import { cli, tempDir } from '../helpers/cli.js';

const scenario = (id: string, axes: Record<string, string> = {}) => ({ id, name: id.replace(/\[.*/, ''), kernel: 'debian-7.2', axes, env: { ...axes } }) as unknown as Scenario;

t.test('withAxis: appended, added, or replacing an existing kernel axis', async (t) => {
  t.equal(withAxis('boot-smoke', 'kernel', 'debian-6.19'), 'boot-smoke[kernel=debian-6.19]');
  t.equal(withAxis('layouts[layout=one-1G,fs=ext4]', 'kernel', 'debian-7.3'), 'layouts[layout=one-1G,fs=ext4,kernel=debian-7.3]');
  t.equal(withAxis('k[kernel=debian-7.2,fs=xfs]', 'kernel', 'debian-7.3'), 'k[fs=xfs,kernel=debian-7.3]');
  t.equal(withoutAxis('boot-smoke[kernel=debian-6.19]', 'kernel'), 'boot-smoke', 'repro finds the case a single --kernel ran');
  t.equal(withoutAxis('layouts[layout=a,kernel=debian-6.19]', 'kernel'), 'layouts[layout=a]');
  t.equal(withoutAxis('layouts[layout=a]', 'kernel'), 'layouts[layout=a]');
});

t.test('applyKernels: none, one (override, same ids), several (a kernel axis)', async (t) => {
  const s = [scenario('boot-smoke'), scenario('layouts[layout=a]', { layout: 'a' })];
  t.equal(applyKernels(s, []), s, 'no --kernel: untouched');
  const one = applyKernels(s, ['debian-6.19']);
  t.same(one.map((x) => [x.id, x.kernel]), [['boot-smoke', 'debian-6.19'], ['layouts[layout=a]', 'debian-6.19']]);
  const two = applyKernels(s, ['debian-6.19', 'debian-7.3', 'debian-6.19']);
  t.same(two.map((x) => x.id), ['boot-smoke[kernel=debian-6.19]', 'boot-smoke[kernel=debian-7.3]', 'layouts[layout=a,kernel=debian-6.19]', 'layouts[layout=a,kernel=debian-7.3]']);
  t.same(two[3]!.axes, { layout: 'a', kernel: 'debian-7.3' });
  t.equal(two[3]!.env.kernel, 'debian-7.3', 'the guest sees the axis like any other');
  // A scenario with its own kernel axis: --kernel values replace it, no duplicate ids.
  const own = [scenario('m[kernel=debian-7.2]', { kernel: 'debian-7.2' }), scenario('m[kernel=debian-6.19]', { kernel: 'debian-6.19' })];
  t.same(applyKernels(own, ['debian-7.3', 'debian-6.19']).map((x) => x.id), ['m[kernel=debian-7.3]', 'm[kernel=debian-6.19]']);
});

t.test('kernelDef: unknown names are bad input listing the known ones', async (t) => {
  const catalog = await loadCatalog();
  t.equal(kernelDef(catalog, 'debian-6.19').debian?.modules, false);
  t.equal(kernelDef(catalog, 'debian-6.19').debian?.version, '6.19.14+deb13');
  t.equal(kernelDef(catalog, 'debian-7.3').debian?.modules, true);
  const err = (() => {
    try {
      kernelDef(catalog, 'nope');
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  t.ok(err instanceof HarnessError && err.exitCode === 2, 'exit 2');
  t.match((err as Error).message, /unknown kernel 'nope' \(known: debian-6\.19, debian-7\.2-arm64, debian-7\.2, debian-7\.3/);
});

const artifact = (over: Partial<KernelArtifact> = {}): KernelArtifact => ({
  name: 'debian-7.3',
  release: '7.3.4+deb13-amd64',
  source: 'debian:linux-binary-7.3.4+deb13-amd64=7.3.4-1~bpo13+1',
  packages: [],
  dir: '/cache/kernels/debian-7.3/x',
  vmlinuz: '/cache/kernels/debian-7.3/x/vmlinuz',
  initrd: '/cache/kernels/debian-7.3/x/initrd.img',
  sha256: { vmlinuz: 'aa'.repeat(32), 'initrd.img': 'bb'.repeat(32) },
  ramdax: 'module',
  createdAt: '2026-11-27T00:00:00Z',
  kind: 'debian',
  capabilities: capabilitiesFromConfig('CONFIG_MODULES=y\nCONFIG_RAMDAX=m\nCONFIG_FS_DAX=y\nCONFIG_VIRTIO_BLK=m\nCONFIG_EXT4_FS=m\nCONFIG_VIRTIO_NET=m\n', true),
  ...over,
});

t.test('list rows and info text', async (t) => {
  const catalog = await loadCatalog();
  const def = kernelDef(catalog, 'debian-7.3');
  t.same(listRow(def, undefined), { name: 'debian-7.3', kind: 'debian', release: 'not fetched', ramdax: 'unknown' });
  t.same(listRow(def, artifact()), { name: 'debian-7.3', kind: 'debian', release: '7.3.4+deb13-amd64', ramdax: 'module' });
  const info = formatInfo(def, artifact(), '/cache');
  t.match(info, /release: +7\.3\.4\+deb13-amd64/);
  t.match(info, /cache: +\/cache\/kernels\/debian-7\.3\/x/);
  t.match(info, new RegExp(`vmlinuz: ${'aa'.repeat(32)}`));
  t.match(info, /initrd\.img: b{64}/);
  t.match(info, /ramdax: +module/);
  t.match(info, /CONFIG_FS_DAX: builtin/);
  t.match(info, /boot: +to SSH \(harness initramfs/);
  t.match(formatInfo(def, undefined, '/cache'), /not fetched \(run `ramdax-harness kernel fetch debian-7\.3`\)/);
});

t.test('CLI: kernel list / info / fetch / build arguments and exit codes', async (t) => {
  const cache = await tempDir('ramdax-kcli-');
  // One kernel "fetched" into this cache: its manifest is all `list` and `info` read.
  await mkdir(join(cache, 'kernels', 'debian-7.3'), { recursive: true });
  await writeFile(join(cache, 'kernels', 'debian-7.3', 'current.json'), JSON.stringify(artifact()));

  const list = await cli(['kernel', 'list', '--cache', cache]);
  t.equal(list.exitCode, 0);
  t.match(list.stdout, /^NAME +KIND +RELEASE +RAMDAX$/m);
  t.match(list.stdout, /^debian-6\.19 +debian +not fetched +unknown$/m);
  t.match(list.stdout, /^debian-7\.3 +debian +7\.3\.4\+deb13-amd64 +module$/m);
  const json = await cli(['kernel', 'list', '--cache', cache, '--json']);
  t.same(JSON.parse(json.stdout).find((r: { name: string }) => r.name === 'debian-7.3'), { name: 'debian-7.3', kind: 'debian', release: '7.3.4+deb13-amd64', ramdax: 'module' });

  const info = await cli(['kernel', 'info', 'debian-7.3', '--cache', cache]);
  t.equal(info.exitCode, 0);
  t.match(info.stdout, /sha256:\n {2}vmlinuz: a{64}/);

  const unknown = await cli(['kernel', 'info', 'nope', '--cache', cache]);
  t.equal(unknown.exitCode, 2, 'unknown kernel: exit 2');
  t.match(unknown.stderr, /unknown kernel 'nope' \(known: debian-6\.19, debian-7\.2-arm64, debian-7\.2, debian-7\.3/);
  t.equal((await cli(['kernel', 'fetch', 'nope', '--cache', cache])).exitCode, 2);
  t.equal((await cli(['kernel', 'fetch', '--cache', cache])).exitCode, 2, 'missing name: exit 2');
  const build = await cli(['kernel', 'build', 'debian-7.3', '--cache', cache]);
  t.equal(build.exitCode, 2, 'build on a Debian kernel: exit 2');
  t.match(build.stderr, /use `ramdax-harness kernel fetch debian-7\.3`/);
  const help = await cli(['kernel', 'fetch', '--help']);
  t.equal(help.exitCode, 0);
  t.match(help.stdout, /Exit status:/);
});

t.test('CLI: list/run --kernel', async (t) => {
  const cache = await tempDir('ramdax-kcli-');
  const list = await cli(['list', 'scenarios/boot-smoke.yaml', '--kernel', 'debian-6.19', '--kernel', 'debian-7.3', '--json']);
  t.equal(list.exitCode, 0, list.stderr);
  t.same(JSON.parse(list.stdout).map((c: { id: string; kernel: string }) => [c.id, c.kernel]), [['boot-smoke[kernel=debian-6.19]', 'debian-6.19'], ['boot-smoke[kernel=debian-7.3]', 'debian-7.3']]);
  const filtered = await cli(['list', 'scenarios/boot-smoke.yaml', '--kernel', 'debian-6.19', '--kernel', 'debian-7.3', '--filter', '*kernel=debian-6.19*', '--json']);
  t.same(JSON.parse(filtered.stdout).map((c: { id: string }) => c.id), ['boot-smoke[kernel=debian-6.19]'], '--filter sees the kernel axis');

  const bad = await cli(['run', 'scenarios/boot-smoke.yaml', '--kernel', 'nope', '--cache', cache, '--results', join(cache, 'results')]);
  t.equal(bad.exitCode, 2);
  t.match(bad.stderr, /--kernel nope: unknown kernel \(known: /);
  const notFetched = await cli(['run', 'scenarios/boot-smoke.yaml', '--kernel', 'debian-6.19', '--cache', cache, '--results', join(cache, 'results')]);
  t.equal(notFetched.exitCode, 3, 'a kernel not fetched: exit 3');
  t.match(notFetched.stderr, /kernel 'debian-6\.19' is not fetched yet/);
  t.match(notFetched.stderr, /hint: run `npx ramdax-harness kernel fetch debian-6\.19`/);
  t.equal(notFetched.stdout, '', 'nothing started: no TAP');
});
