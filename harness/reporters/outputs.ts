import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inputError } from '../common/errors.js';
import { writeFileAtomic } from '../common/fs.js';
import type { RunResult } from '../model/results.js';
import { githubAnnotations, githubSummary } from './github.js';
import { CONSOLE_TAIL_LINES, junitXml } from './junit.js';
import { kcidbReport, ORIGIN_RE } from './kcidb.js';

export const REPORTERS = ['tap', 'json', 'junit', 'kcidb', 'github'] as const;
export type ReporterName = (typeof REPORTERS)[number];

/**
 * `--reporter` values → the set (default: tap). tap and json both print on
 * stdout, so at most one of them; the others write files into the run folder.
 */
export function parseReporters(values: string[]): Set<ReporterName> {
  const out = new Set<ReporterName>();
  for (const v of values.length ? values : ['tap']) {
    if (!(REPORTERS as readonly string[]).includes(v)) throw inputError(`--reporter ${v}: unknown reporter (known: ${REPORTERS.join(', ')})`);
    out.add(v as ReporterName);
  }
  if (out.has('tap') && out.has('json')) throw inputError('--reporter tap and --reporter json both print on stdout: choose one (the run folder keeps results.tap and results.json either way)');
  return out;
}

export function checkOrigin(origin: string): string {
  if (!ORIGIN_RE.test(origin)) throw inputError(`--kcidb-origin ${origin}: a KCIDB origin is lower-case letters, digits and _ only`);
  return origin;
}

/** The last lines of each failing case's console log (for JUnit system-out). */
async function consoleTails(runDir: string, run: RunResult): Promise<Map<string, string>> {
  const tails = new Map<string, string>();
  for (const c of run.cases) {
    if (c.status === 'pass' || c.status === 'skip' || !c.files.console) continue;
    const text = await readFile(join(runDir, c.files.console), 'utf8').catch(() => undefined);
    if (text) tails.set(c.id, text.trimEnd().split('\n').slice(-CONSOLE_TAIL_LINES).join('\n'));
  }
  return tails;
}

export interface OutputOptions {
  origin: string;
  /** Where `::error` annotations go (stdout unless TAP is printed there). */
  annotate: (line: string) => void;
  env?: Record<string, string | undefined>;
}

/** Write the selected file reporters of a finished run: junit.xml, kcidb.json, the GitHub step summary. Returns the files written. */
export async function writeOutputs(runDir: string, run: RunResult, selected: ReadonlySet<ReporterName>, o: OutputOptions): Promise<string[]> {
  const written: string[] = [];
  if (selected.has('junit')) {
    const f = join(runDir, 'junit.xml');
    await writeFileAtomic(f, junitXml(run, await consoleTails(runDir, run)));
    written.push(f);
  }
  if (selected.has('kcidb')) {
    const f = join(runDir, 'kcidb.json');
    await writeFileAtomic(f, `${JSON.stringify(kcidbReport(run, o.origin), null, 2)}\n`);
    written.push(f);
  }
  if (selected.has('github')) {
    const summary = githubSummary(run);
    const target = (o.env ?? process.env).GITHUB_STEP_SUMMARY;
    const f = target || join(runDir, 'github-summary.md');
    if (target) await appendFile(target, summary);
    else await writeFileAtomic(f, summary);
    written.push(f);
    for (const l of githubAnnotations(run)) o.annotate(`${l}\n`);
  }
  return written;
}
