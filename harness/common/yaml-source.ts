import { LineCounter, parseDocument, isCollection, isMap, isScalar, isPair, visit, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { InputError, type SourcePos } from './errors.js';
import { MAX_DEPTH, MAX_FILE_BYTES } from './input-limits.js';
import { InputFileError, readTextInput } from './read-input.js';
import { findTooDeep } from './yaml-depth.js';

/** A parsed YAML file that can say where any path in it is. */
export class YamlSource {
  constructor(
    readonly file: string,
    readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  static parse(file: string, text: string): YamlSource {
    // Before the YAML library sees it: it recurses per nesting level (and V8 aborts the process on deep flow nesting).
    const deep = findTooDeep(text, MAX_DEPTH);
    if (deep) throw new InputError([{ pos: { file, ...lineColOf(text, deep.offset) }, message: `YAML nests deeper than ${MAX_DEPTH} levels here: a scenario needs a handful` }]);
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    const src = new YamlSource(file, doc, lines);
    const reported = [...doc.errors, ...doc.warnings.filter((w) => REPORTED_WARNINGS.has(w.code))];
    const problems = reported.map((e) => ({
      pos: src.posOfOffset(src.errorStart(e.pos[0])),
      message: `YAML ${e.code === 'DUPLICATE_KEY' ? 'duplicate key' : e.code === 'TAG_RESOLVE_FAILED' ? 'unknown tag' : 'syntax error'}: ${firstLine(e.message)}`,
    }));
    if (problems.length > 0) throw new InputError(problems);
    if (doc.contents === null) throw new InputError([{ pos: src.posOfOffset(0), message: 'the file is empty' }]);
    src.checkNodes();
    return src;
  }

  /** Problems the yaml library would only hit (or warn about) while converting: keys that are collections, bad aliases, alias bombs. */
  private checkNodes(): void {
    const problems: { pos: SourcePos; message: string }[] = [];
    let lastAlias: number | undefined;
    visit(this.doc, {
      Pair: (_k, pair) => {
        if (isCollection(pair.key)) problems.push({ pos: this.posOfOffset(offsetOf(pair.key) ?? 0), message: `unknown key '${String(pair.key)}': a key must be a plain name` });
      },
      Alias: (_k, alias) => {
        lastAlias = offsetOf(alias);
        if (!alias.resolve(this.doc)) problems.push({ pos: this.posOfOffset(lastAlias ?? 0), message: `YAML syntax error: unresolved alias *${alias.source} (no anchor &${alias.source} before it)` });
      },
    });
    if (problems.length) throw new InputError(problems);
    try {
      this.js = this.doc.toJS({ maxAliasCount: 1000 });
    } catch (err) {
      throw new InputError([{ pos: this.posOfOffset(lastAlias ?? 0), message: `YAML alias expands too much: ${(err as Error).message}` }]);
    }
  }

  /** The converted document (plain JS values). */
  js: unknown;

  /** Unclosed quotes and flow collections are reported by yaml at their end: point at where they open. */
  private errorStart(offset: number): number {
    let best: number | undefined;
    visit(this.doc, (_k, node) => {
      const range = (node as Node | null)?.range;
      if (!range || offset < range[0] || offset > range[2]) return;
      const opens = (isScalar(node) && (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE')) || (isCollection(node) && node.flow);
      if (opens && (best === undefined || range[0] > best) && range[2] >= offset && range[1] - range[0] > 0 && offset >= range[1] - 1) best = range[0];
    });
    return best ?? offset;
  }

  static async read(file: string): Promise<YamlSource> {
    let text: string;
    try {
      text = await readTextInput(file, MAX_FILE_BYTES);
    } catch (err) {
      if (!(err instanceof InputFileError)) throw err;
      const pos = err.text !== undefined && err.offset !== undefined ? lineColOf(err.text, err.offset) : { line: 1, col: 1 };
      throw new InputError([{ pos: { file, ...pos }, message: err.message }]);
    }
    return YamlSource.parse(file, text);
  }

  posOfOffset(offset: number): SourcePos {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, col };
  }

  /**
   * The position of the node at `path`; for a missing key, its closest
   * existing parent; with `key`, the position of the map key rather than its value.
   */
  posOf(path: readonly PropertyKey[], opts: { key?: boolean } = {}): SourcePos {
    let node: unknown = this.doc.contents;
    let best = offsetOf(node) ?? 0;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      if (!isMap(node) && !(node && typeof node === 'object' && 'items' in node)) break;
      const coll = node as { items: unknown[] };
      let next: unknown;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        const last = i === path.length - 1;
        if (last && opts.key) return this.posOfOffset(offsetOf(pair.key) ?? best);
        next = pair.value ?? pair.key;
      } else {
        next = typeof seg === 'number' ? coll.items[seg] : undefined;
      }
      if (next === undefined || next === null) break;
      node = next;
      best = offsetOf(node) ?? best;
    }
    return this.posOfOffset(best);
  }

  /** Validate the whole document with a zod schema; every issue becomes `file:line:col: message`. */
  validate<S extends z.ZodType>(schema: S, value: unknown = this.js): z.output<S> {
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    throw new InputError(result.error.issues.map((issue) => this.problemOf(issue)));
  }

  problemOf(issue: z.core.$ZodIssue, prefix: readonly PropertyKey[] = []): { pos: SourcePos; message: string } {
    // A union that failed in every branch: follow the branch that got furthest.
    if (issue.code === 'invalid_union' && issue.errors.length) {
      const deepest = issue.errors.map((branch) => branch[0]).filter((x): x is z.core.$ZodIssue => !!x).sort((a, b) => b.path.length - a.path.length)[0];
      if (deepest && deepest.path.length > 0) return this.problemOf({ ...deepest, path: [...issue.path, ...deepest.path] } as z.core.$ZodIssue, prefix);
    }
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0]!;
      return { pos: this.posOf([...path, key], { key: true }), message: `unknown key '${issue.keys.join("', '")}'` + where(path) };
    }
    if (path.length > 0 && !this.doc.hasIn(path) && (issue.code === 'invalid_type' || issue.code === 'invalid_union')) {
      const parent = path.slice(0, -1);
      const target = this.doc.getIn(path);
      if (target === undefined) return { pos: this.posOf(parent), message: `missing required key '${String(path.at(-1))}'${where(parent)}` };
    }
    return { pos: this.posOf(path), message: `${issue.message}${where(path)}` };
  }
}

function where(path: readonly PropertyKey[]): string {
  return path.length ? ` (at ${path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '')})` : '';
}

/** 1-based line and column of a character offset. */
export function lineColOf(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, col: offset - lineStart + 1 };
}

function offsetOf(node: unknown): number | undefined {
  const range = (node as Node | undefined)?.range;
  return range ? range[0] : undefined;
}

const REPORTED_WARNINGS = new Set(['DUPLICATE_KEY', 'TAG_RESOLVE_FAILED']);

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}
