// Benchmark: build a source: kernel (kernels/NAME.yaml) and print wall and CPU time.
//   npx tsx bench/kernel-build.ts [--kernel source-7.2] [--cold]
// --cold removes this kernel's object folders, results and request index first and
// disables ccache, so the figure is a from-scratch build (the source tarball stays).
// A second run without --cold shows the cache hit (no make at all).
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadCatalog } from '../harness/catalog/catalog.js';
import { stderrLogger } from '../harness/common/log.js';
import { defaultCacheDir } from '../harness/common/paths.js';
import { ensureSourceKernel, pathTreeKey } from '../harness/kbuild/source-kernel.js';

const { values } = parseArgs({ options: { kernel: { type: 'string', default: 'source-7.2' }, cold: { type: 'boolean', default: false } } });
const name = values.kernel!;
const cacheDir = defaultCacheDir();
const def = (await loadCatalog()).kernels.get(name);
if (!def?.source) throw new Error(`no source: kernel named ${name}`);

if (values.cold) {
  const builds = join(cacheDir, 'builds');
  for (const f of await readdir(builds).catch(() => [] as string[])) if (f.startsWith(`${name}-`)) await rm(join(builds, f), { recursive: true, force: true });
  await rm(join(builds, 'requests'), { recursive: true, force: true });
  // The working tree's object folders (CACHE/work/KEY/obj/*): a cold build starts without them.
  const tree = def.source.tree;
  const key = typeof tree === 'string' ? pathTreeKey(join(def.file, '..', tree)) : `linux-source-${tree.debian.series}`;
  await rm(join(cacheDir, 'work', key, 'obj'), { recursive: true, force: true });
  process.env.CCACHE_DISABLE = '1';
}

/** CPU seconds used by this process's waited-for children (make and everything under it). */
async function childCpu(): Promise<{ user: number; sys: number }> {
  const stat = await readFile('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 16 and 17 of proc(5) (cutime, cstime), counted from field 3 here; in clock ticks.
  return { user: Number(f[13]) / 100, sys: Number(f[14]) / 100 };
}

const t0 = Date.now();
const { artifact, cached } = await ensureSourceKernel(def, cacheDir, stderrLogger('bench'), {});
const wall = (Date.now() - t0) / 1000;
const cpu = await childCpu();
const load = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
console.log(`kernel ${name}: ${artifact.release} ${cached ? 'CACHED (no make)' : 'built'}${values.cold ? ' cold (no ccache)' : ''}`);
console.log(`  wall ${wall.toFixed(1)} s, CPU user ${cpu.user.toFixed(1)} s + sys ${cpu.sys.toFixed(1)} s (children), host load ${load}`);
console.log(`  make: ${artifact.build.objects} C files, ${artifact.build.wallSeconds} s; bzImage ${artifact.vmlinuz}; ramdax ${artifact.ramdax}`);
