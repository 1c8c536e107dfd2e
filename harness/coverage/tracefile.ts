/**
 * Reading lcov tracefiles (the text format geninfo writes, see geninfo(1)
 * "FILES"): per test name (TN:) and source file (SF:), line counts (DA:),
 * functions (FN:/FNDA:) and branches (BRDA:). The harness reads them to
 * build per-file figures, per-case attribution and patch coverage; lcov and
 * genhtml themselves do the capture, merge and HTML.
 */

export interface FileCoverage {
  /** line → execution count (only instrumented lines appear). */
  lines: Map<number, number>;
  /** function name → { line, count }. */
  functions: Map<string, { line: number; count: number }>;
  /** "line,block,branch" → taken count (null: the block never ran, lcov's "-"). */
  branches: Map<string, number | null>;
}

/** test name → source file → coverage. */
export type Tracefile = Map<string, Map<string, FileCoverage>>;

const emptyFile = (): FileCoverage => ({ lines: new Map(), functions: new Map(), branches: new Map() });

export function parseTracefile(text: string): Tracefile {
  const out: Tracefile = new Map();
  let test = '';
  let file: FileCoverage | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const colon = line.indexOf(':');
    const tag = colon < 0 ? line : line.slice(0, colon);
    const val = colon < 0 ? '' : line.slice(colon + 1);
    switch (tag) {
      case 'TN':
        test = val;
        break;
      case 'SF': {
        const files = out.get(test) ?? new Map<string, FileCoverage>();
        out.set(test, files);
        file = files.get(val) ?? emptyFile();
        files.set(val, file);
        break;
      }
      case 'DA': {
        const [ln, count] = val.split(',');
        if (file) file.lines.set(Number(ln), (file.lines.get(Number(ln)) ?? 0) + Number(count));
        break;
      }
      case 'FN': {
        const comma = val.indexOf(',');
        const name = val.slice(comma + 1);
        if (file) file.functions.set(name, { line: Number(val.slice(0, comma)), count: file.functions.get(name)?.count ?? 0 });
        break;
      }
      case 'FNDA': {
        const comma = val.indexOf(',');
        const name = val.slice(comma + 1);
        const f = file?.functions.get(name);
        if (file) file.functions.set(name, { line: f?.line ?? 0, count: (f?.count ?? 0) + Number(val.slice(0, comma)) });
        break;
      }
      case 'BRDA': {
        const parts = val.split(',');
        const key = parts.slice(0, 3).join(',');
        const taken = parts[3] === '-' ? null : Number(parts[3]);
        if (file) {
          const old = file.branches.get(key);
          file.branches.set(key, taken === null ? (old ?? null) : (old ?? 0) + taken);
        }
        break;
      }
      case 'end_of_record':
        file = undefined;
        break;
      default:
        break;
    }
  }
  return out;
}

/** All tests summed: source file → coverage. */
export function sumTests(t: Tracefile): Map<string, FileCoverage> {
  const out = new Map<string, FileCoverage>();
  for (const files of t.values()) {
    for (const [sf, f] of files) {
      const o = out.get(sf) ?? emptyFile();
      out.set(sf, o);
      for (const [l, c] of f.lines) o.lines.set(l, (o.lines.get(l) ?? 0) + c);
      for (const [n, fn] of f.functions) o.functions.set(n, { line: fn.line, count: (o.functions.get(n)?.count ?? 0) + fn.count });
      for (const [k, c] of f.branches) {
        const old = o.branches.get(k);
        o.branches.set(k, c === null ? (old ?? null) : (old ?? 0) + c);
      }
    }
  }
  return out;
}

export interface Figure {
  hit: number;
  found: number;
  /** Percent with one decimal; null when nothing is instrumented. */
  percent: number | null;
}

const figure = (hit: number, found: number): Figure => ({ hit, found, percent: found ? Math.round((1000 * hit) / found) / 10 : null });

export interface FileFigures {
  file: string;
  lines: Figure;
  functions: Figure;
  branches: Figure;
}

export function figures(file: string, f: FileCoverage): FileFigures {
  const lines = [...f.lines.values()];
  const fns = [...f.functions.values()];
  const brs = [...f.branches.values()];
  return {
    file,
    lines: figure(lines.filter((c) => c > 0).length, lines.length),
    functions: figure(fns.filter((x) => x.count > 0).length, fns.length),
    branches: figure(brs.filter((c) => c !== null && c > 0).length, brs.length),
  };
}

export function totals(all: FileFigures[]): Omit<FileFigures, 'file'> {
  const add = (k: 'lines' | 'functions' | 'branches') => figure(all.reduce((a, f) => a + f[k].hit, 0), all.reduce((a, f) => a + f[k].found, 0));
  return { lines: add('lines'), functions: add('functions'), branches: add('branches') };
}

/** Consecutive line numbers as ranges: [3,4,5,9] → "3-5, 9". */
export function ranges(lines: number[]): string {
  const s = [...new Set(lines)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j]! + 1) j++;
    out.push(i === j ? `${s[i]}` : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return out.join(', ');
}
