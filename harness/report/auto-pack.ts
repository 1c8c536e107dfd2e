import { join } from 'node:path';
import { describeError } from '../common/errors.js';
import { writeFileAtomic } from '../common/fs.js';
import type { Logger } from '../common/log.js';
import { readRun } from '../results/read.js';
import { caseTitles } from '../results/outcome.js';
import { AUTO_PACK_LIMIT, packCase, packInputBytes } from './pack.js';

/**
 * After a run: one reproducer archive per distinct failure (the first case
 * with each crash title, or each failing step without a finding), when its
 * inputs stay under AUTO_PACK_LIMIT (256 MiB; RAMDAX_HARNESS_PACK_LIMIT, 0
 * turns it off). Recorded as `files.archive` in results.json. Never throws.
 */
export async function autoPack(runDir: string, cacheDir: string, log: Logger): Promise<string[]> {
  const made: string[] = [];
  if (!(AUTO_PACK_LIMIT > 0)) return made;
  try {
    const run = await readRun(runDir);
    const seen = new Set<string>();
    for (const c of run.cases) {
      if ((c.status !== 'fail' && c.status !== 'error') || !c.qemuArgv?.length) continue;
      const failed = c.points.find((p) => p.status === c.status);
      const key = caseTitles(c)[0] ?? `${c.kernel?.release}:${c.scenario}:${failed?.name}:${c.status}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const bytes = await packInputBytes(c);
      if (bytes > AUTO_PACK_LIMIT) {
        log.info(`${c.id}: no reproducer archive (${Math.round(bytes / 2 ** 20)} MiB of kernel and disks, over the ${Math.round(AUTO_PACK_LIMIT / 2 ** 20)} MiB limit): make it with \`repro --pack\``);
        continue;
      }
      try {
        const r = await packCase({ runDir, caseId: c.id, cacheDir, log });
        c.files.archive = r.file.slice(runDir.length + 1);
        made.push(r.file);
        log.info(`${c.id}: reproducer archive ${r.file} (${(r.bytes / 2 ** 20).toFixed(1)} MiB)`);
      } catch (err) {
        log.warn(`${c.id}: no reproducer archive: ${describeError(err)}`);
      }
    }
    if (made.length) await writeFileAtomic(join(runDir, 'results.json'), `${JSON.stringify(run, null, 2)}\n`);
  } catch (err) {
    log.warn(`reproducer archives not written: ${describeError(err)}`);
  }
  return made;
}
