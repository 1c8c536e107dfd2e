import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { silentLogger } from '../../harness/common/log.js';
import { HarnessError } from '../../harness/common/errors.js';
import { ensureLocalKernel, localPaths } from '../../harness/setup/local-kernel.js';
import { tempDir } from '../helpers/cli.js';

/** A file with a bzImage setup header naming `release` (enough for the harness to read it). */
function fakeBzImage(release: string): Buffer {
  const img = Buffer.alloc(0x1000);
  img.write('HdrS', 0x202, 'latin1');
  img.writeUInt16LE(0x200, 0x20e);
  img.write(`${release} (me@host) #1 SMP\0`, 0x400, 'latin1');
  return img;
}

t.test('localPaths: relative to the yaml file', async (t) => {
  const p = localPaths({ name: 'k', file: '/src/kernels/k.yaml', local: { vmlinuz: '../out/bzImage', config: '/abs/.config' } });
  t.same(p, { vmlinuz: '/src/out/bzImage', modules: undefined, config: '/abs/.config' });
});

t.test('a local kernel with a config and no modules: copied by content, capabilities from its config', async (t) => {
  const dir = await tempDir('ramdax-local-');
  const cache = join(dir, 'cache');
  await mkdir(join(dir, 'kernels'), { recursive: true });
  await writeFile(join(dir, 'bzImage'), fakeBzImage('7.3.0-lean'));
  await writeFile(join(dir, 'config'), 'CONFIG_VIRTIO_BLK=y\nCONFIG_VIRTIO_NET=y\nCONFIG_EXT4_FS=y\nCONFIG_RAMDAX=y\nCONFIG_FS_DAX=y\n');
  const def = { name: 'lean', file: join(dir, 'kernels', 'lean.yaml'), local: { vmlinuz: '../bzImage', config: '../config' } };
  const { artifact, cached } = await ensureLocalKernel(def, cache, silentLogger);
  t.equal(cached, false);
  t.equal(artifact.kind, 'local');
  t.equal(artifact.release, '7.3.0-lean', 'release from the bzImage header');
  t.equal(artifact.source, `local:${join(dir, 'bzImage')}`);
  t.match(artifact.sha256.vmlinuz, /^[0-9a-f]{64}$/);
  t.match(artifact.sha256.config, /^[0-9a-f]{64}$/);
  t.equal(artifact.initrd, undefined, 'built in: no initrd (root=/dev/vda)');
  t.equal(artifact.ramdax, 'builtin');
  t.equal(artifact.capabilities?.ssh.reachable, true);
  t.same(await readFile(artifact.vmlinuz), await readFile(join(dir, 'bzImage')), 'the cache holds a copy');
  t.same(JSON.parse(await readFile(join(cache, 'kernels', 'lean', 'current.json'), 'utf8')).release, '7.3.0-lean');
  t.equal((await ensureLocalKernel(def, cache, silentLogger)).cached, true, 'same files: cached');
  await writeFile(join(dir, 'config'), 'CONFIG_VIRTIO_BLK=m\nCONFIG_VIRTIO_NET=y\nCONFIG_EXT4_FS=y\nCONFIG_MODULES=y\n');
  const changed = await ensureLocalKernel(def, cache, silentLogger);
  t.equal(changed.cached, false, 'a changed config is a new artifact');
  t.not(changed.artifact.dir, artifact.dir);
  t.same(changed.artifact.capabilities?.ssh.missing, ['VIRTIO_BLK'], 'virtio_blk as a module and no modules folder: console only');
  t.equal(changed.artifact.ramdax, 'absent');
});

t.test('a missing local file is a fetch failure naming the path', async (t) => {
  const dir = await tempDir('ramdax-local-');
  const def = { name: 'gone', file: join(dir, 'gone.yaml'), local: { vmlinuz: 'nope/bzImage' } };
  const err = await ensureLocalKernel(def, join(dir, 'cache'), silentLogger).catch((e: unknown) => e);
  t.ok(err instanceof HarnessError && err.exitCode === 3, 'exit 3');
  t.match((err as Error).message, /local\.vmlinuz .*nope\/bzImage does not exist/);
});
