import { cp, mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { exists } from '../common/fs.js';
import { inputError } from '../common/errors.js';
import { sha256File } from '../common/hash.js';
import type { Logger } from '../common/log.js';
import { addTracefiles } from './lcov.js';
import type { ChangedLines } from './patch-lines.js';
import { coverageRoot, summarize, writeOutputs, type CoverageSummary } from './report.js';

async function walk(dir: string, base = dir, out: string[] = []): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, base, out);
    else out.push(p.slice(base.length + 1));
  }
  return out;
}

/** A run folder's (or coverage folder's) summary.json; bad input when there is none. */
export async function coverageSummaryPath(dir: string): Promise<string> {
  const root = dir.endsWith('/coverage') || dir.endsWith('/coverage/') ? dir.replace(/\/$/, '') : coverageRoot(dir);
  const path = join(root, 'summary.json');
  if (!(await exists(path))) throw inputError(`coverage merge: ${dir} has no coverage (no ${path}; was it run with --coverage?)`);
  return path;
}

/**
 * Merge the coverage of several run folders (shards of one suite, nightly
 * runs) into `outDir`: the tracefiles are added with `lcov -a` (counts sum,
 * each case keeps its test name), the sources are the runs' copies — which
 * must agree file by file, as counts of different sources cannot be added.
 * The merged view is complete only when every run's was. Used by
 * `ramdax-harness coverage merge` and by a run merge that wants coverage.
 */
export async function mergeCoverage(runDirs: readonly string[], outDir: string, o: { log: Logger; changed?: ChangedLines; title?: string }): Promise<CoverageSummary> {
  if (!runDirs.length) throw inputError('coverage merge: no run folders given');
  const summaries: CoverageSummary[] = [];
  const infos: string[] = [];
  const srcHash = new Map<string, { hash: string; from: string }>();
  await rm(outDir, { recursive: true, force: true });
  await mkdir(join(outDir, 'src'), { recursive: true });
  for (const dir of runDirs) {
    const path = await coverageSummaryPath(dir);
    const root = dirname(path);
    const summary = await readFile(path, 'utf8').then((t) => JSON.parse(t) as CoverageSummary, () => undefined);
    if (!summary) throw inputError(`coverage merge: ${path} is not a coverage summary`);
    summaries.push(summary);
    infos.push(join(root, 'coverage.info'));
    for (const rel of await walk(join(root, 'src'))) {
      const hash = await sha256File(join(root, 'src', rel));
      const seen = srcHash.get(rel);
      if (seen && seen.hash !== hash) {
        throw inputError(`coverage merge: src/${rel} differs between ${seen.from} and ${dir}: counts of different sources cannot be added (merge runs of the same coverage kernel)`);
      }
      if (!seen) {
        srcHash.set(rel, { hash, from: dir });
        await cp(join(root, 'src', rel), join(outDir, 'src', rel));
      }
    }
  }
  const info = join(outDir, 'coverage.info');
  const any = await addTracefiles(infos, info);
  const kernels = new Map(summaries.flatMap((s) => s.kernels).map((k) => [k.name, k]));
  const merged = await summarize(info, any, {
    runs: summaries.flatMap((s) => s.runs),
    kernels: [...kernels.values()],
    cases: summaries.flatMap((s) => s.cases),
    changed: o.changed,
  });
  await writeOutputs(outDir, merged, any, o.title ?? `ramdax-harness: ${merged.runs.length} runs merged`, o.log);
  return merged;
}
