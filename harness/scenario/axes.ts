/**
 * Matrix expansion (pure): a scenario's `matrix:` axes become cases with
 * stable ids, and `${axis}` placeholders are replaced by typed values.
 *
 * A scalar that is exactly `${axis}` takes the axis value with its type (a
 * list stays a list); inside a longer string the value is spliced in as text.
 * Guest commands of `run` steps are never templated: there `${axis}` is left
 * to the guest shell, which gets every axis as an exported variable.
 */

import { safeName } from '../common/names.js';
import { MAX_LABEL_CHARS } from '../scenario/limits.js';

export type AxisValue = string | number | boolean | null | AxisValue[] | { [k: string]: AxisValue };

export interface Axis {
  name: string;
  /** label → value; a list axis uses the value itself as its label. */
  values: { label: string; value: AxisValue }[];
}

export interface Expansion {
  id: string;
  labels: Record<string, string>;
  values: Record<string, AxisValue>;
  doc: unknown;
}

export interface ExpandProblem {
  path: (string | number)[];
  message: string;
}

export const MAX_CASES = 256;
const OMIT = Symbol('omit');
const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\}/g;

/** `layout.memmap` → the `memmap` field of the `layout` axis value; undefined when missing. */
function lookup(values: Record<string, AxisValue>, ref: string): { found: boolean; value?: AxisValue } {
  const [axis, ...fields] = ref.split('.');
  if (!(axis! in values)) return { found: false };
  let v: AxisValue | undefined = values[axis!];
  for (const f of fields) {
    if (!v || typeof v !== 'object' || Array.isArray(v) || !(f in v)) return { found: false };
    v = (v as Record<string, AxisValue>)[f];
  }
  return { found: true, value: v };
}

/** Read `matrix:` into axes; problems carry the YAML path they are about. */
export function readAxes(matrix: unknown): { axes: Axis[]; problems: ExpandProblem[] } {
  const problems: ExpandProblem[] = [];
  const axes: Axis[] = [];
  if (matrix === undefined) return { axes, problems };
  if (!matrix || typeof matrix !== 'object' || Array.isArray(matrix)) {
    return { axes, problems: [{ path: ['matrix'], message: 'matrix is a mapping of axis name to a list of values (or to a mapping label: value)' }] };
  }
  for (const [name, raw] of Object.entries(matrix as Record<string, unknown>)) {
    const at = ['matrix', name];
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) {
      problems.push({ path: at, message: `axis name '${name}' must be lower-case letters, digits and _ (it is also a guest shell variable)` });
      continue;
    }
    let values: Axis['values'];
    if (Array.isArray(raw)) {
      values = raw.map((v) => ({ label: labelOf(v), value: v as AxisValue }));
    } else if (raw && typeof raw === 'object') {
      values = Object.entries(raw as Record<string, AxisValue>).map(([label, value]) => ({ label, value }));
    } else {
      problems.push({ path: at, message: `axis '${name}' needs a list of values or a mapping label: value` });
      continue;
    }
    if (values.length === 0) {
      problems.push({ path: at, message: `axis '${name}' is empty: a matrix with an empty axis has no cases` });
      continue;
    }
    const bad = values.findIndex((v) => !/^[A-Za-z0-9._+:!-]+$/.test(v.label));
    if (bad >= 0) {
      problems.push({ path: Array.isArray(raw) ? [...at, bad] : [...at, values[bad]!.label], message: `axis label '${values[bad]!.label}' is not usable in a case id: give the axis a mapping of short labels` });
      continue;
    }
    const long = values.findIndex((v) => v.label.length > MAX_LABEL_CHARS);
    if (long >= 0) {
      problems.push({ path: Array.isArray(raw) ? [...at, long] : [...at, values[long]!.label], message: `axis label '${values[long]!.label.slice(0, 20)}…' is longer than ${MAX_LABEL_CHARS} characters: give the axis a mapping of short labels` });
      continue;
    }
    const dup = values.findIndex((v, i) => values.findIndex((w) => w.label === v.label) !== i);
    if (dup >= 0) {
      problems.push({ path: Array.isArray(raw) ? [...at, dup] : at, message: `axis '${name}' has the label '${values[dup]!.label}' twice` });
      continue;
    }
    // Case ids become results folder names, where ':' and '!' turn into '_': labels must stay apart there too.
    const clash = values.findIndex((v, i) => values.findIndex((w) => safeName(w.label) === safeName(v.label)) !== i);
    if (clash >= 0) {
      const other = values.find((w) => safeName(w.label) === safeName(values[clash]!.label))!;
      problems.push({ path: Array.isArray(raw) ? [...at, clash] : [...at, values[clash]!.label], message: `axis labels '${other.label}' and '${values[clash]!.label}' give the same results folder name (${safeName(other.label)}): make them differ in letters, digits or . _ = + -` });
      continue;
    }
    const selfRef = values.findIndex((v) => JSON.stringify(v.value).match(PLACEHOLDER));
    if (selfRef >= 0) {
      problems.push({ path: Array.isArray(raw) ? [...at, selfRef] : [...at, values[selfRef]!.label], message: `axis values cannot refer to axes (\${...} inside a value of '${name}'): matrices do not nest or cycle` });
      continue;
    }
    axes.push({ name, values });
  }
  const count = axes.reduce((n, a) => n * a.values.length, 1);
  if (count > MAX_CASES) problems.push({ path: ['matrix'], message: `the matrix expands to ${count} cases, more than ${MAX_CASES}` });
  return { axes, problems };
}

function labelOf(v: unknown): string {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
}

/** Every combination of axis values, in declaration order, minus the excluded ones. */
export function combinations(axes: Axis[], exclude: Record<string, string>[] = []): Record<string, Axis['values'][number]>[] {
  let out: Record<string, Axis['values'][number]>[] = [{}];
  for (const axis of axes) out = out.flatMap((combo) => axis.values.map((v) => ({ ...combo, [axis.name]: v })));
  return out.filter((combo) => !exclude.some((ex) => Object.entries(ex).every(([k, label]) => combo[k]?.label === String(label))));
}

export function caseId(name: string, axes: Axis[], combo: Record<string, { label: string }>): string {
  if (axes.length === 0) return name;
  return `${name}[${axes.map((a) => `${a.name}=${combo[a.name]!.label}`).join(',')}]`;
}

/** Is this path the guest command of a `run` step? */
const isGuestCommand = (path: (string | number)[]) =>
  path[0] === 'steps' && path[2] === 'run' && (path.length === 3 || (path.length === 4 && path[3] === 'command'));

/** Replace placeholders in `doc` (not in `matrix`, `exclude` or guest commands). */
export function substitute(doc: unknown, values: Record<string, AxisValue>, problems: ExpandProblem[], path: (string | number)[] = []): unknown {
  if (path.length === 1 && (path[0] === 'matrix' || path[0] === 'exclude')) return doc;
  if (typeof doc === 'string') {
    if (isGuestCommand(path)) return doc;
    const whole = /^\$\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\}$/.exec(doc);
    const missing = (ref: string) => `\${${ref}} is not a matrix axis or axis field (axes: ${Object.keys(values).join(', ') || 'none'})`;
    if (whole) {
      const hit = lookup(values, whole[1]!);
      if (!hit.found) problems.push({ path, message: missing(whole[1]!) });
      // `null` in an axis value means "leave this parameter unset".
      if (hit.found && hit.value === null) return OMIT;
      return hit.found ? hit.value : doc;
    }
    return doc.replace(PLACEHOLDER, (m, ref: string) => {
      const hit = lookup(values, ref);
      if (!hit.found) {
        problems.push({ path, message: missing(ref) });
        return m;
      }
      const v = hit.value;
      if (v !== null && typeof v === 'object') {
        problems.push({ path, message: `\${${ref}} is a list or mapping and can only stand alone as a whole value, not inside text` });
        return m;
      }
      return String(v);
    });
  }
  if (Array.isArray(doc)) return doc.map((v, i) => substitute(v, values, problems, [...path, i])).filter((v) => v !== OMIT);
  if (doc && typeof doc === 'object') {
    return Object.fromEntries(
      Object.entries(doc as Record<string, unknown>)
        .map(([k, v]) => [k, substitute(v, values, problems, [...path, k])] as const)
        .filter(([, v]) => v !== OMIT),
    );
  }
  return doc;
}

/** Axis values for the guest shell: scalars as text, lists and mappings as JSON. */
export function axisEnv(values: Record<string, AxisValue>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}
