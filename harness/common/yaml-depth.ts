/**
 * How deeply YAML text nests, found in one linear pass without the YAML
 * library (pure). The library recurses per level: 5,000 nested `- ` overflowed
 * the stack, 5,000 nested `[` made V8 abort the whole process (out of memory
 * compiling a regular expression) — nothing a try/catch can turn into exit 2.
 * So the depth is measured first, with a small scanner that knows just enough
 * YAML to tell structure from text: block indentation and `- ` entries, flow
 * brackets, quoted scalars (also across lines), block scalars (`|`, `>`) and
 * comments. Plain text such as `run: echo [x]` does not count.
 */

export interface DepthProblem {
  /** Where the nesting first went deeper than allowed. */
  offset: number;
  depth: number;
}

const BLOCK_SCALAR = /^[|>][-+0-9]*\s*(#.*)?$/;

/** The first place where collections nest deeper than `max`, or undefined. */
export function findTooDeep(text: string, max: number): DepthProblem | undefined {
  const block: number[] = [];
  let flow = 0;
  let quote: '"' | "'" | undefined;
  /** While inside a block scalar: the indentation its text must exceed. */
  let scalarIndent: number | undefined;
  let lineStart = 0;
  const deeper = (offset: number, inFlow = flow): DepthProblem | undefined => (block.length + inFlow > max ? { offset, depth: block.length + inFlow } : undefined);

  while (lineStart <= text.length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    const line = text.slice(lineStart, lineEnd);
    let indent = 0;
    while (line[indent] === ' ') indent++;
    const blank = indent === line.length || line[indent] === '\r' || line[indent] === '#';
    let i = indent;
    let skipLine = false;

    if (scalarIndent !== undefined) {
      if (blank || indent > scalarIndent) skipLine = true;
      else scalarIndent = undefined;
    }
    if (!skipLine && !quote && flow === 0 && !blank) {
      // Block structure: indentation closes and opens levels; `- ` and `? ` open one more each.
      while (block.length && block.at(-1)! > indent) block.pop();
      if (!block.length || block.at(-1)! < indent) block.push(indent);
      let p: DepthProblem | undefined = deeper(lineStart + i);
      if (p) return p;
      while ((line[i] === '-' || line[i] === '?') && (i + 1 === line.length || line[i + 1] === ' ')) {
        i++;
        while (line[i] === ' ') i++;
        if (i >= line.length) break;
        block.push(i);
        p = deeper(lineStart + i);
        if (p) return p;
      }
    }
    if (!skipLine) {
      const r = scanLine(line, i, { flow, quote, atToken: true }, (col, inFlow) => deeper(lineStart + col, inFlow));
      if (r.problem) return r.problem;
      flow = r.flow;
      quote = r.quote;
      if (r.blockScalar && scalarIndent === undefined) scalarIndent = indent;
    }
    lineStart = lineEnd + 1;
  }
  return undefined;
}

interface LineState {
  flow: number;
  quote: '"' | "'" | undefined;
  atToken: boolean;
}

/** Scan one line from `i`: quotes, flow brackets, comments, a block scalar header. */
function scanLine(line: string, start: number, st: LineState, open: (col: number, flow: number) => DepthProblem | undefined): { flow: number; quote: LineState['quote']; blockScalar: boolean; problem?: DepthProblem } {
  let { flow, quote, atToken } = st;
  for (let i = start; i < line.length; i++) {
    const c = line[i]!;
    if (quote === '"') {
      if (c === '\\') i++;
      else if (c === '"') {
        quote = undefined;
        atToken = false;
      }
      continue;
    }
    if (quote === "'") {
      if (c === "'" && line[i + 1] === "'") i++;
      else if (c === "'") {
        quote = undefined;
        atToken = false;
      }
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') continue;
    if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) break;
    if (atToken && (c === '"' || c === "'")) {
      quote = c;
      continue;
    }
    if (atToken && (c === '&' || c === '!' || c === '*')) {
      // An anchor, tag or alias: a word, after which a node may still start.
      while (i + 1 < line.length && !/[\s,\[\]{}]/.test(line[i + 1]!)) i++;
      continue;
    }
    if ((c === '[' || c === '{') && (atToken || flow > 0)) {
      const problem = open(i, flow + 1);
      if (problem) return { flow: flow + 1, quote, blockScalar: false, problem };
      flow++;
      atToken = true;
      continue;
    }
    if ((c === ']' || c === '}') && flow > 0) {
      flow--;
      atToken = false;
      continue;
    }
    if (c === ',' && flow > 0) {
      atToken = true;
      continue;
    }
    if ((c === ':' || c === '?' || c === '-') && (i + 1 === line.length || /\s/.test(line[i + 1]!) || (flow > 0 && /[,\[\]{}]/.test(line[i + 1]!)))) {
      atToken = true;
      continue;
    }
    if (atToken && flow === 0 && BLOCK_SCALAR.test(line.slice(i))) return { flow, quote, blockScalar: true };
    atToken = false;
  }
  return { flow, quote, blockScalar: false };
}
