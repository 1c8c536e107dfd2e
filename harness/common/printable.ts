/**
 * Text from input files and guests is never printed raw to a terminal: an
 * ANSI escape in a step name could recolour or rewrite the screen, a `\r`
 * overwrite what came before it on the line, a bidi override reorder it.
 */

/** C0 and C1 control characters, DEL, and the Unicode bidi embedding/override/isolate controls. */
export const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const CONTROL_ALL = new RegExp(CONTROL.source, 'g');

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\u001b': '\\e' };

/** `s` with every control character written as an escape (`\e`, `\r`, `\x07`, `\u202e`). */
export function printable(s: string): string {
  return s.replace(CONTROL_ALL, (c) => NAMED[c] ?? (c.charCodeAt(0) < 0x100 ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}
