import { InvalidArgumentError, type Command } from 'commander';
import { relative } from 'node:path';
import { loadCatalog } from '../catalog/catalog.js';
import { ExitCode } from '../common/exit-codes.js';
import { parseDuration, parseSize } from '../common/units.js';
import { DEFAULT_MAX_AGE_MS, DEFAULT_MIN_AGE_MS, defaultMaxBytes, formatBytes, runGc } from '../kbuild/gc.js';
import { cacheOption } from './options.js';

const size = (v: string) => {
  const n = parseSize(v);
  if (n === undefined) throw new InvalidArgumentError('a size like 20G, 500M');
  return n;
};
/** `14d`, `12h`, `90m`: days are what gc ages are usually given in. */
const age = (v: string) => {
  const d = /^(\d+(?:\.\d+)?)d$/.exec(v.trim());
  const n = d ? Number(d[1]) * 86_400_000 : parseDuration(v);
  if (n === undefined) throw new InvalidArgumentError('an age like 14d, 12h, 90m');
  return n;
};

export function registerGc(kernel: Command, setExit: (code: number) => void): void {
  kernel
    .command('gc')
    .description(
      'remove old kernel build products from the cache: working trees and object folders (CACHE/work), finished kernels (CACHE/builds) and imported kernels no definition points at any more, unused for --older-than; then the least recently used until the build cache is under --max-size; and what earlier harness layouts left. Never a tree a build holds, a kernel a definition currently uses, or anything used in the last hour. Builds run the size cap themselves (at most hourly).',
    )
    .addOption(cacheOption())
    .option('--older-than <age>', 'remove what was not used for this long (14d, 12h)', age, DEFAULT_MAX_AGE_MS)
    .option('--max-size <size>', 'then keep the build cache under this size (env RAMDAX_HARNESS_BUILD_CACHE_MAX)', size, defaultMaxBytes())
    .option('--dry-run', 'only list what would be removed', false)
    .option('--json', 'machine-readable output', false)
    .action(async (o: { cache: string; olderThan: number; maxSize: number; dryRun: boolean; json: boolean }) => {
      const catalog = await loadCatalog();
      const r = await runGc(o.cache, new Set(catalog.kernels.keys()), { maxAgeMs: o.olderThan, maxBytes: o.maxSize, minAgeMs: DEFAULT_MIN_AGE_MS, dryRun: o.dryRun, legacy: true });
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ dryRun: o.dryRun, totalBefore: r.totalBefore, totalAfter: r.totalAfter, removed: r.remove.map((d) => ({ path: d.item.path, kind: d.item.kind, bytes: d.item.bytes, why: d.why })), skipped: r.skipped }, null, 2)}\n`);
      } else {
        for (const d of r.remove) process.stdout.write(`${o.dryRun ? 'would remove' : 'removed'} ${d.item.kind} ${relative(o.cache, d.item.path)} (${formatBytes(d.item.bytes)}): ${d.why}\n`);
        for (const p of r.skipped) process.stdout.write(`skipped ${relative(o.cache, p)}: a build took it meanwhile\n`);
        process.stdout.write(`build cache: ${formatBytes(r.totalBefore)} → ${formatBytes(r.totalAfter)}${o.dryRun ? ' (dry run, nothing removed)' : ''}; cap ${formatBytes(o.maxSize)}\n`);
      }
      setExit(ExitCode.ok);
    });
}
