import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import pLimit from 'p-limit';
import { describeError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { RunResult } from '../results/model.js';
import { safeName } from '../results/store.js';
import { readCaseStatus, coverageDir as caseCoverageDir } from './collect.js';
import { addTracefiles, captureSegment, genhtml, listTracefile, testName } from './lcov.js';
import { patchCoverage, type PatchCoverage } from './patch-coverage.js';
import type { ChangedLines } from './patch-lines.js';
import { figures, parseTracefile, ranges, sumTests, totals, type FileFigures } from './tracefile.js';

/**
 * results/<run>/coverage/:
 *   coverage.info      lcov tracefile, one TN: section per case (test names in cases.json)
 *   cases/<case>.info  each case alone
 *   summary.json       per-file line/function/branch figures, totals, per-case completeness
 *   summary.txt        `lcov --list` of coverage.info
 *   cases.json         attribution: file → line → the cases that executed it
 *   patch.json         with a patch series: changed lines per file and which ran
 *   src/<kernel>/...   the profiled sources as compiled (SF: paths are relative to src/)
 *   html/index.html    genhtml, annotated sources, per-case details
 */

export interface CaseCoverage {
  id: string;
  test: string;
  kernel?: string;
  segments: number;
  complete: boolean;
  lost: string[];
  /** ramdax.c (when profiled) for this case alone. */
  ramdax?: FileFigures;
}

export interface CoverageSummary {
  version: 1;
  runs: string[];
  kernels: { name: string; vmlinuz?: string; objDir?: string }[];
  files: FileFigures[];
  totals: Omit<FileFigures, 'file'>;
  /** Per folder (drivers/nvdimm, drivers/dax) and for ramdax.c alone. */
  groups: { name: string; figures: Omit<FileFigures, 'file'> }[];
  cases: CaseCoverage[];
  /** False when a case lost counters (panic, hang, failed copy): the figures are a lower bound. */
  complete: boolean;
  /** ramdax.c lines never executed, as ranges. */
  ramdaxNotRun?: string;
  patch?: PatchCoverage;
}

export const coverageRoot = (runDir: string) => join(runDir, 'coverage');

/** Group name of a file: its folder (drivers/nvdimm, drivers/dax, drivers/dax/hmem → drivers/dax). */
const groupOf = (file: string) => (/(^|\/)drivers\/nvdimm\//.test(file) ? 'drivers/nvdimm' : /(^|\/)drivers\/dax\//.test(file) ? 'drivers/dax' : 'other');
export const isRamdax = (file: string) => /(^|\/)drivers\/nvdimm\/ramdax\.c$/.test(file);

/**
 * Turn the segments every case of a run saved into the coverage folder.
 * Each segment is captured with lcov against its kernel's .gcno (two at a
 * time), a case's segments are added into its tracefile, the cases into the
 * run's. Returns the summary (also written as summary.json).
 */
export async function buildRunCoverage(run: RunResult, o: { log: Logger; changed?: ChangedLines; patchLabel?: string; jobs?: number }): Promise<CoverageSummary> {
  const out = coverageRoot(run.dir);
  await rm(out, { recursive: true, force: true });
  await mkdir(join(out, 'cases'), { recursive: true });
  const taken = new Set<string>();
  const limit = pLimit(o.jobs ?? 2);
  const kernels = new Map<string, { name: string; vmlinuz?: string; objDir?: string }>();
  const cases: CaseCoverage[] = [];
  const caseFiles: string[] = [];
  await Promise.all(
    run.cases.map(async (c) => {
      const dir = join(run.dir, safeName(c.id));
      const st = await readCaseStatus(dir);
      const test = testName(c.id, taken);
      const cc: CaseCoverage = { id: c.id, test, kernel: st?.kernel?.name, segments: st?.segments.length ?? 0, complete: !!st && !st.lost.length, lost: st?.lost ?? ['no coverage was collected for this case'] };
      cases.push(cc);
      if (!st?.segments.length) return;
      const gcov = st.kernel?.gcov;
      if (!gcov) {
        cc.complete = false;
        cc.lost = [...cc.lost, `kernel '${st.kernel?.name}' is not a coverage build (no .gcno files recorded)`];
        return;
      }
      const k = st.kernel!;
      if (!kernels.has(k.name)) {
        kernels.set(k.name, { name: k.name, vmlinuz: k.vmlinuz, objDir: gcov.objDir });
        await cp(join(gcov.dir, 'src'), join(out, 'src', k.name), { recursive: true });
      }
      const segFiles: string[] = [];
      for (const [i, seg] of st.segments.entries()) {
        const file = join(out, 'cases', `${safeName(c.id)}.${i + 1}.info`);
        try {
          const info = await limit(() => captureSegment(join(caseCoverageDir(dir), seg.file), gcov, test, k.name));
          await writeFile(file, info);
          segFiles.push(file);
        } catch (err) {
          cc.complete = false;
          cc.lost.push(`segment ${seg.file} (${seg.label}) could not be read: ${describeError(err)}`);
        }
      }
      const caseInfo = join(out, 'cases', `${safeName(c.id)}.info`);
      if (await addTracefiles(segFiles, caseInfo)) {
        caseFiles.push(caseInfo);
        const mine = sumTests(parseTracefile(await readFile(caseInfo, 'utf8')));
        const r = [...mine].find(([f]) => isRamdax(f));
        if (r) cc.ramdax = figures(r[0], r[1]);
      }
      for (const f of segFiles) await rm(f, { force: true });
    }),
  );
  cases.sort((a, b) => run.cases.findIndex((c) => c.id === a.id) - run.cases.findIndex((c) => c.id === b.id));
  const info = join(out, 'coverage.info');
  const any = await addTracefiles(caseFiles.sort(), info);
  const summary = await summarize(info, any, {
    runs: [run.runId],
    kernels: [...kernels.values()],
    cases,
    changed: o.changed,
  });
  await writeOutputs(out, summary, any, `ramdax-harness ${run.runId}`, o.log);
  return summary;
}

/** Figures, attribution, patch coverage from a finished coverage.info. */
export async function summarize(info: string, any: boolean, o: { runs: string[]; kernels: CoverageSummary['kernels']; cases: CaseCoverage[]; changed?: ChangedLines }): Promise<CoverageSummary> {
  const t = any ? parseTracefile(await readFile(info, 'utf8')) : new Map();
  const all = sumTests(t);
  const files = [...all].map(([f, c]) => figures(f, c)).sort((a, b) => a.file.localeCompare(b.file));
  const groups = ['drivers/nvdimm', 'drivers/dax'].map((g) => ({ name: g, figures: totals(files.filter((f) => groupOf(f.file) === g)) }));
  const rd = files.filter((f) => isRamdax(f.file));
  if (rd.length) groups.unshift({ name: 'ramdax.c', figures: totals(rd) });
  const ramdax = [...all].find(([f]) => isRamdax(f));
  const notRun = ramdax ? ranges([...ramdax[1].lines].filter(([, c]) => c === 0).map(([l]) => l)) : undefined;
  return {
    version: 1,
    runs: o.runs,
    kernels: o.kernels,
    files,
    totals: totals(files),
    groups,
    cases: o.cases,
    complete: o.cases.every((c) => c.complete),
    ...(notRun !== undefined ? { ramdaxNotRun: notRun } : {}),
    ...(o.changed ? { patch: patchCoverage(o.changed, all) } : {}),
  };
}

/** Attribution: file → line → test names that executed it (from the per-test sections of the tracefile). */
export function attribution(info: string, tests: Map<string, string>): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  for (const [tn, files] of parseTracefile(info)) {
    const id = tests.get(tn) ?? tn;
    for (const [f, c] of files) {
      for (const [l, n] of c.lines) {
        if (n <= 0) continue;
        ((out[f] ??= {})[String(l)] ??= []).push(id);
      }
    }
  }
  return out;
}

export async function writeOutputs(out: string, summary: CoverageSummary, any: boolean, title: string, log: Logger): Promise<void> {
  const info = join(out, 'coverage.info');
  const tests = new Map(summary.cases.map((c) => [c.test, c.id]));
  await writeFile(join(out, 'cases.json'), `${JSON.stringify({ tests: Object.fromEntries(tests), lines: any ? attribution(await readFile(info, 'utf8'), tests) : {} }, null, 1)}\n`);
  await writeFile(join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  if (summary.patch) await writeFile(join(out, 'patch.json'), `${JSON.stringify(summary.patch, null, 2)}\n`);
  if (!any) {
    await writeFile(join(out, 'summary.txt'), 'no coverage data\n');
    return;
  }
  await writeFile(join(out, 'summary.txt'), await listTracefile(info));
  try {
    await genhtml(info, join(out, 'html'), join(out, 'src'), title);
  } catch (err) {
    log.warn(`coverage: genhtml failed (${describeError(err)}); the tracefile and summary are kept`);
  }
}

const pct = (f: { hit: number; found: number; percent: number | null }) => `${f.percent ?? '-'}% (${f.hit}/${f.found})`;

/** TAP comment lines for the end of a run. */
export function tapComments(s: CoverageSummary, dir: string): string[] {
  const out = [`coverage: ${relative(process.cwd(), dir) || dir}${s.complete ? '' : ' — INCOMPLETE: some cases lost their counters (see below); figures are a lower bound'}`];
  for (const g of s.groups) out.push(`coverage: ${g.name}: lines ${pct(g.figures.lines)}, functions ${pct(g.figures.functions)}, branches ${pct(g.figures.branches)}`);
  if (s.ramdaxNotRun !== undefined) out.push(`coverage: ramdax.c lines not run: ${s.ramdaxNotRun || 'none'}`);
  for (const c of s.cases.filter((x) => !x.complete && x.segments)) out.push(`coverage: ${c.id}: incomplete — ${c.lost.join('; ')}`);
  for (const c of s.cases.filter((x) => !x.segments)) out.push(`coverage: ${c.id}: no counters — ${c.lost.join('; ')}`);
  if (s.patch) out.push(...patchComments(s.patch));
  return out.map((l) => `# ${l}`);
}

export function patchComments(p: PatchCoverage): string[] {
  const out = [`patch coverage: ${p.summary}`];
  for (const f of p.files) {
    out.push(`patch coverage:   ${f.file}: ${f.profiled ? `${f.ran.length} of ${f.executable.length} changed line(s) ran${f.notRun.length ? `; not run: ${ranges(f.notRun)}` : ''}${f.other.length ? `; ${f.other.length} changed line(s) are not code` : ''}` : `${f.changed.length} changed line(s), not profiled (outside drivers/nvdimm, drivers/dax)`}`);
  }
  return out;
}
