import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CoverageSummary } from '../coverage/report.js';
import { writeFileAtomic } from '../common/fs.js';
import { lockRunDir } from '../results/run-lock.js';
import { renderReport } from './html.js';
import { readRun } from './load.js';
import { renderText } from './text.js';
import { metricRows, metricsCsv, metricsJson } from './metrics.js';

export interface ReportFiles {
  html: string;
  csv: string;
  json: string;
  /** report.txt: plain text for a mailing list. */
  text: string;
  metrics: number;
  cases: number;
}

/** Write report.html, metrics.csv and metrics.json into the run folder. */
export async function writeReport(runDir: string, baselineDir?: string): Promise<ReportFiles> {
  const run = await readRun(runDir);
  const baseline = baselineDir === undefined ? undefined : await readRun(baselineDir);
  const rows = metricRows(run);
  const files = { html: join(runDir, 'report.html'), csv: join(runDir, 'metrics.csv'), json: join(runDir, 'metrics.json'), text: join(runDir, 'report.txt') };
  // Not while a run still writes the folder (its results.json would be half the story).
  const coverage = await readFile(join(runDir, 'coverage', 'summary.json'), 'utf8').then((t) => JSON.parse(t) as CoverageSummary, () => undefined);
  const lock = await lockRunDir(runDir, 'report');
  try {
    await writeFileAtomic(files.html, renderReport({ run, baseline, coverage }));
    await writeFileAtomic(files.csv, metricsCsv(rows));
    await writeFileAtomic(files.json, metricsJson(run, rows));
    await writeFileAtomic(files.text, renderText(run));
  } finally {
    await lock.release();
  }
  return { ...files, metrics: rows.length, cases: run.cases.length };
}
