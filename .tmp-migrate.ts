// One-off (not committed): move this machine's legacy source-7.2 build (sources/patched/KEY + builds/obj/NAME-HASH)
// into the new layout without a cold build: sync the new working tree (hard links + the marker patch), copy the legacy
// object folder to the new place, rewrite the absolute paths Kbuild recorded in it.
import { execa } from 'execa';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCatalog } from './harness/catalog/catalog.js';
import { withLock } from './harness/build/build-lock.js';
import { configName } from './harness/build/source-kernel.js';
import { readPatchSeries } from './harness/build/patch-series.js';
import { objDirOf, syncWorkTree, workTree } from './harness/build/work-tree.js';
import { stderrLogger } from './harness/common/log.js';
import { defaultCacheDir } from './harness/common/paths.js';
import { exists } from './harness/common/fs.js';

const [legacySrc, legacyObj] = process.argv.slice(2);
const cache = defaultCacheDir();
const def = (await loadCatalog()).kernels.get('source-7.2')!;
const tree = join(cache, 'sources', 'linux-source-7.2_7.2.13-1', 'tree');
const wt = workTree(cache, 'linux-source-7.2');
const obj = objDirOf(wt, configName(def.source!.base, def.source!.base, def.source!.fragments));
const log = stderrLogger('migrate');
await withLock(wt.root, 'migration', log, async () => {
  if (await exists(obj)) throw new Error(`${obj} exists already`);
  const patches = await readPatchSeries(def.source!.patches.map((p) => join(def.file, '..', p)));
  const r = await syncWorkTree(wt, { dir: tree, kind: 'cache', describe: 'linux-source-7.2' }, patches, log);
  log.info(`synced: populated ${r.populated}, changed ${r.changed.join(' ')} in ${r.wallMs} ms`);
  await execa('cp', ['-a', legacyObj!, obj]);
  const files = (await execa('grep', ['-rlI', '--null', '-e', legacySrc!, '-e', legacyObj!, obj], { reject: false })).stdout.split('\0').filter(Boolean);
  for (const f of files) {
    const t = await readFile(f, 'utf8');
    await writeFile(f, t.split(legacySrc!).join(wt.src).split(legacyObj!).join(obj));
  }
  const src = await execa('readlink', [join(obj, 'source')], { reject: false });
  if (src.stdout) await execa('ln', ['-sfn', wt.src, join(obj, 'source')]);
  log.info(`rewrote ${files.length} files in ${obj}; source -> ${wt.src}`);
});
