import { basename } from 'node:path';
import type { ChangedLines } from './patch-lines.js';
import { ranges, type FileCoverage } from './tracefile.js';

export interface PatchFileCoverage {
  /** Path in the kernel tree (drivers/nvdimm/ramdax.c). */
  file: string;
  /** Whether the file is profiled at all (in drivers/nvdimm or drivers/dax and compiled in). */
  profiled: boolean;
  changed: number[];
  /** Changed lines gcov instruments (code); the others are comments, declarations, braces. */
  executable: number[];
  ran: number[];
  notRun: number[];
  /** Changed lines that are not code. */
  other: number[];
}

export interface PatchCoverage {
  /** "12 of 14 changed lines ran; not run: ramdax.c:231-232". */
  summary: string;
  executable: number;
  ran: number;
  files: PatchFileCoverage[];
}

/** Match a patch path to a tracefile SF (which may carry a kernel prefix: source-7.2-cov/drivers/...). */
function findFile(all: Map<string, FileCoverage>, file: string): FileCoverage | undefined {
  for (const [sf, c] of all) if (sf === file || sf.endsWith(`/${file}`)) return c;
  return undefined;
}

export function patchCoverage(changed: ChangedLines, all: Map<string, FileCoverage>): PatchCoverage {
  const files: PatchFileCoverage[] = [];
  for (const [file, set] of [...changed].sort(([a], [b]) => a.localeCompare(b))) {
    const lines = [...set].sort((a, b) => a - b);
    const cov = findFile(all, file);
    const executable = cov ? lines.filter((l) => cov.lines.has(l)) : [];
    const ran = executable.filter((l) => (cov!.lines.get(l) ?? 0) > 0);
    files.push({
      file,
      profiled: !!cov,
      changed: lines,
      executable,
      ran,
      notRun: executable.filter((l) => !ran.includes(l)),
      other: cov ? lines.filter((l) => !cov.lines.has(l)) : [],
    });
  }
  const executable = files.reduce((a, f) => a + f.executable.length, 0);
  const ran = files.reduce((a, f) => a + f.ran.length, 0);
  const notRun = files.filter((f) => f.notRun.length).map((f) => `${basename(f.file)}:${ranges(f.notRun).replace(/, /g, ',')}`);
  const unprofiled = files.filter((f) => !f.profiled).map((f) => basename(f.file));
  const summary = [
    `${ran} of ${executable} changed line${executable === 1 ? '' : 's'} ran`,
    notRun.length ? `not run: ${notRun.join(' ')}` : '',
    unprofiled.length ? `not profiled: ${unprofiled.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  return { summary, executable, ran, files };
}
