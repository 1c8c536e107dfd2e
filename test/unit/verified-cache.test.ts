// Verified cache: artifacts are checked before they boot (size+mtime, or the
// full sha256 when those changed or with --verify), and a corrupted one is
// fetched again with a message. On a temp cache with a local: kernel (a copy
// of a real vmlinuz and config; no QEMU, no network).
import t from 'tap';
import { copyFile, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import type { Catalog } from '../../harness/catalog/catalog.js';
import type { Logger } from '../../harness/common/log.js';
import { sha256File } from '../../harness/common/hash.js';
import { currentKernel } from '../../harness/setup/artifacts.js';
import { ensureLocalKernel } from '../../harness/setup/local-kernel.js';
import { checkFiles, restoreStamp, stampOf } from '../../harness/setup/verify.js';
import { verifiedKernel } from '../../harness/setup/verified.js';

const tmp = () => mkdtemp(join(tmpdir(), 'ramdax-verify-'));
const lines: string[] = [];
const log: Logger = { info: (m: string) => lines.push(`info ${m}`), warn: (m: string) => lines.push(`warn ${m}`), step: (m: string) => lines.push(`step ${m}`) } as unknown as Logger;

/** Flip one byte in place, keeping the size. */
async function flipByte(path: string, at: number): Promise<void> {
  const fh = await open(path, 'r+');
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, at);
  b[0] = b[0]! ^ 0xff;
  await fh.write(b, 0, 1, at);
  await fh.close();
}

t.test('checkFiles: cheap path, changed size/mtime → full hash, --verify → full hash, missing', async (t) => {
  const dir = await tmp();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const f = join(dir, 'vmlinuz');
  await writeFile(f, Buffer.alloc(100_000, 7));
  const file = { path: f, sha256: await sha256File(f) };
  t.same((await checkFiles([file], undefined, false)).map((v) => v.state), ['hashed-ok'], 'no stamp yet: hashed');
  const stamp = await stampOf(f);
  t.same((await checkFiles([file], { [f]: stamp }, false)).map((v) => v.state), ['ok'], 'stamp matches: not hashed');
  await flipByte(f, 5000);
  t.match(await checkFiles([file], { [f]: stamp }, false), [{ state: 'corrupted', detail: /modified since it was recorded; sha256/ }], 'mtime changed: hashed, corrupted');
  await restoreStamp(f, stamp);
  t.same((await checkFiles([file], { [f]: stamp }, false)).map((v) => v.state), ['ok'], 'same size and mtime, other bytes: the cheap path cannot tell');
  t.same((await checkFiles([file], { [f]: stamp }, true)).map((v) => v.state), ['corrupted'], '--verify hashes anyway and finds it');
  await writeFile(f, 'short');
  t.match(await checkFiles([file], { [f]: stamp }, false), [{ state: 'corrupted', detail: /size 5 bytes, recorded 100000/ }]);
  await rm(f);
  t.same((await checkFiles([file], { [f]: stamp }, false)).map((v) => v.state), ['missing']);
});

t.test('a corrupted cached kernel is fetched again, with a message, and verified', async (t) => {
  const cache = await tmp();
  t.teardown(() => rm(cache, { recursive: true, force: true }));
  // A local: kernel from a real vmlinuz and config (the shared cache's Debian kernel, read only).
  const real = await currentKernel(process.env.RAMDAX_HARNESS_CACHE ?? join(homedir(), '.cache', 'ramdax-harness'), 'debian-7.2').catch(() => undefined);
  if (!real?.config) return t.fail('needs `setup` (the Debian 7.2 kernel in the cache)');
  const src = join(cache, 'src');
  await import('node:fs/promises').then((fs) => fs.mkdir(src));
  await copyFile(real.vmlinuz, join(src, 'bzImage'));
  await copyFile(real.config, join(src, 'config'));
  const def = { name: 'mine', file: join(src, 'mine.yaml'), local: { vmlinuz: 'bzImage', config: 'config' } } as unknown as Catalog['kernels'] extends Map<string, infer D> ? D : never;
  const catalog = { kernels: new Map([['mine', def]]), images: new Map() } as Catalog;
  const { artifact } = await ensureLocalKernel(def, cache, log);
  const good = artifact.sha256['vmlinuz'];

  const fine = await verifiedKernel(cache, 'mine', catalog, log, { full: false });
  t.ok(fine.stamps?.[artifact.vmlinuz], 'first check records size and mtime');
  t.same(lines.filter((l) => l.startsWith('warn')), [], 'nothing to say about a good kernel');

  await flipByte(artifact.vmlinuz, 4096);
  const fixed = await verifiedKernel(cache, 'mine', catalog, log, { full: false });
  t.match(lines.find((l) => l.startsWith('warn')), /kernel 'mine': vmlinuz does not match its recorded sha256 \(modified since it was recorded; sha256 [0-9a-f]+…, recorded [0-9a-f]+…\): the cached copy in .* is corrupted; fetching it again/);
  t.equal(await sha256File(fixed.vmlinuz), good, 'the vmlinuz in the cache is whole again');
  t.notOk(existsSync(`${artifact.dir}.corrupt`), 'the corrupted copy was removed');
  t.ok((await stat(fixed.vmlinuz)).size > 0);

  // Same size and mtime, other bytes: only --verify (a full hash) finds it.
  const stamp = (await currentKernel(cache, 'mine')).stamps![fixed.vmlinuz]!;
  await flipByte(fixed.vmlinuz, 8192);
  await restoreStamp(fixed.vmlinuz, stamp);
  lines.length = 0;
  await verifiedKernel(cache, 'mine', catalog, log, { full: false });
  t.same(lines.filter((l) => l.startsWith('warn')), [], 'the cheap check passes it');
  await verifiedKernel(cache, 'mine', catalog, log, { full: true });
  t.match(lines.find((l) => l.startsWith('warn')), /vmlinuz does not match its recorded sha256 \(--verify;/, '--verify catches it and fetches again');
  t.equal(await sha256File((await currentKernel(cache, 'mine')).vmlinuz), good);
  t.match(JSON.parse(await readFile(join(cache, 'kernels', 'mine', 'current.json'), 'utf8')).stamps, {}, 'current.json keeps the stamps');
});
