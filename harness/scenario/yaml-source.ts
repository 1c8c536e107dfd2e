import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, isMap, isScalar, isPair, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { InputError, type SourcePos } from '../common/errors.js';

/** A parsed YAML file that can say where any path in it is. */
export class YamlSource {
  constructor(
    readonly file: string,
    readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  static parse(file: string, text: string): YamlSource {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    const src = new YamlSource(file, doc, lines);
    const problems = [...doc.errors, ...doc.warnings.filter((w) => w.code === 'DUPLICATE_KEY')].map((e) => ({
      pos: src.posOfOffset(e.pos[0]),
      message: `YAML ${e.code === 'DUPLICATE_KEY' ? 'duplicate key' : 'syntax error'}: ${firstLine(e.message)}`,
    }));
    if (problems.length > 0) throw new InputError(problems);
    if (doc.contents === null) throw new InputError([{ pos: src.posOfOffset(0), message: 'the file is empty' }]);
    return src;
  }

  static async read(file: string): Promise<YamlSource> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new InputError([{ pos: { file, line: 1, col: 1 }, message: `cannot read file: ${(err as Error).message}` }]);
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
  validate<S extends z.ZodType>(schema: S, value: unknown = this.doc.toJS()): z.output<S> {
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    throw new InputError(result.error.issues.map((issue) => this.problemOf(issue)));
  }

  problemOf(issue: z.core.$ZodIssue, prefix: readonly PropertyKey[] = []): { pos: SourcePos; message: string } {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0]!;
      return { pos: this.posOf([...path, key], { key: true }), message: `unknown key '${issue.keys.join("', '")}'` + where(path) };
    }
    return { pos: this.posOf(path), message: `${issue.message}${where(path)}` };
  }
}

function where(path: readonly PropertyKey[]): string {
  return path.length ? ` (at ${path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '')})` : '';
}

function offsetOf(node: unknown): number | undefined {
  const range = (node as Node | undefined)?.range;
  return range ? range[0] : undefined;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}
