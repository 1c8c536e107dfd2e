import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Catalog } from '../catalog/catalog.js';
import { InputError, type SourcePos } from '../common/errors.js';
import { CONTROL, printable } from '../common/printable.js';
import { STEP_KINDS } from '../steps/registry.js';
import { axisEnv, caseId, combinations, readAxes, substitute, type ExpandProblem } from '../matrix/axes.js';
import type { Step } from '../steps/types.js';
import { formatMemmapArg, hex, oddReason, parseMemmapArg, unbackedReason, type CarveOut, type MemmapArg } from './memmap.js';
import { baseCmdline } from '../vm/qemu-args.js';
import { MAX_CARVE_OUTS, MAX_CMDLINE_BYTES } from './limits.js';
import { formatSize } from '../common/units.js';
import { Timeout } from './types.js';
import { Expect, ScenarioHead } from './schema.js';
import { YamlSource } from './yaml-source.js';
import { InputFileError, statInput } from './read-input.js';
import { defaultImageFor, defaultKernelFor } from '../common/arch.js';
import { kernelArch } from '../catalog/schema.js';
import { planDtb } from '../vm/dtb-plan.js';

export interface Scenario extends Omit<ScenarioHead, 'steps' | 'memmap' | 'matrix' | 'exclude' | 'kernel' | 'image'> {
  kernel: string;
  image: string;
  /** The case id: the name, plus `[axis=label,...]` for matrix cases. */
  id: string;
  /** Axis labels of this case (empty without a matrix). */
  axes: Record<string, string>;
  /** Axis values exported to guest `run` commands. */
  env: Record<string, string>;
  file: string;
  memmap: MemmapArg[];
  carveOuts: CarveOut[];
  steps: Step[];
}

type Problem = { pos: SourcePos; message: string };
const STEP_META = new Set(['name', 'timeout', 'expect']);

/** Load and check one scenario file into its cases; every problem is reported with its position. */
export async function loadScenarioFile(file: string, catalog: Catalog): Promise<Scenario[]> {
  const src = await YamlSource.read(file);
  return checkScenarioCases(src, catalog);
}

/** A scenario file without a matrix: its one case. */
export function checkScenario(src: YamlSource, catalog: Catalog): Scenario {
  return checkScenarioCases(src, catalog)[0]!;
}

/** Expand the matrix (if any) and check every case. */
export function checkScenarioCases(src: YamlSource, catalog: Catalog): Scenario[] {
  const raw = src.js;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InputError([{ pos: src.posOf([]), message: 'a scenario is a YAML mapping (name:, steps:, ...)' }]);
  }
  const doc = raw as Record<string, unknown>;
  const { axes, problems: axisProblems } = readAxes(doc.matrix);
  const at = (p: ExpandProblem) => ({ pos: src.posOf(p.path), message: p.message });
  if (axisProblems.length) throw new InputError(axisProblems.map(at));
  const exclude = Array.isArray(doc.exclude) ? (doc.exclude as Record<string, string>[]) : [];
  const excludeProblems: Problem[] = [];
  exclude.forEach((ex, i) => {
    if (!ex || typeof ex !== 'object') return;
    for (const [k, v] of Object.entries(ex)) {
      const axis = axes.find((a) => a.name === k);
      if (!axis) excludeProblems.push({ pos: src.posOf(['exclude', i, k], { key: true }), message: `exclude names '${k}', which is not a matrix axis` });
      else if (!axis.values.some((x) => x.label === String(v))) excludeProblems.push({ pos: src.posOf(['exclude', i, k]), message: `axis '${k}' has no label '${String(v)}' (labels: ${axis.values.map((x) => x.label).join(', ')})` });
    }
  });
  if (excludeProblems.length) throw new InputError(excludeProblems);
  const combos = combinations(axes, exclude);
  if (combos.length === 0) throw new InputError([{ pos: src.posOf(['exclude']), message: 'exclude leaves no case of the matrix' }]);

  const out: Scenario[] = [];
  const problems: Problem[] = [];
  for (const combo of combos) {
    const values = Object.fromEntries(Object.entries(combo).map(([k, v]) => [k, v.value]));
    const labels = Object.fromEntries(Object.entries(combo).map(([k, v]) => [k, v.label]));
    const subst: ExpandProblem[] = [];
    const expanded = substitute(doc, values, subst);
    const id = caseId(String(doc.name ?? ''), axes, combo);
    const prefix = axes.length ? `case ${id}: ` : '';
    try {
      if (subst.length) throw new InputError(subst.map(at));
      out.push({ ...checkOne(src, expanded, catalog), id, axes: labels, env: axisEnv(values) });
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      for (const p of err.problems) {
        const message = `${prefix}${p.message}`;
        if (!problems.some((q) => q.pos.line === p.pos.line && q.pos.col === p.pos.col && q.message.endsWith(p.message))) problems.push({ pos: p.pos, message });
      }
    }
  }
  if (problems.length) throw new InputError(problems);
  return out;
}

function checkOne(src: YamlSource, raw: unknown, catalog: Catalog): Omit<Scenario, 'id' | 'axes' | 'env'> {
  const parsed = src.validate(ScenarioHead, raw);
  const arch = parsed.machine.arch;
  const head = { ...parsed, kernel: parsed.kernel ?? defaultKernelFor(arch), image: parsed.image ?? defaultImageFor(arch) };
  const problems: Problem[] = [];

  const kdef = catalog.kernels.get(head.kernel);
  if (!kdef) {
    problems.push({ pos: src.posOf(['kernel']), message: `unknown kernel '${head.kernel}' (defined in kernels/: ${[...catalog.kernels.keys()].join(', ') || 'none'})` });
  } else if (kernelArch(kdef) !== arch) {
    problems.push({ pos: src.posOf(parsed.kernel ? ['kernel'] : ['machine']), message: `kernel '${head.kernel}' is an ${kernelArch(kdef)} kernel and this scenario's machine is ${arch} (machine: { arch: ${kernelArch(kdef)} }, or an ${arch} kernel)` });
  }
  const idef = catalog.images.get(head.image);
  if (!idef) {
    problems.push({ pos: src.posOf(['image']), message: `unknown image '${head.image}' (defined in images/: ${[...catalog.images.keys()].join(', ') || 'none'})` });
  } else if ((idef.arch ?? 'x86_64') !== arch) {
    problems.push({ pos: src.posOf(parsed.image ? ['image'] : ['machine']), message: `image '${head.image}' is an ${idef.arch ?? 'x86_64'} image and this scenario's machine is ${arch}` });
  }

  const memmapTexts = head.memmap === undefined ? [] : typeof head.memmap === 'string' ? [head.memmap] : head.memmap;
  const memmap: MemmapArg[] = [];
  memmapTexts.forEach((text, i) => {
    const path = typeof head.memmap === 'string' ? ['memmap'] : ['memmap', i];
    const parsed = parseMemmapArg(text);
    if (typeof parsed === 'string') return problems.push({ pos: src.posOf(path), message: parsed });
    memmap.push(parsed);
    for (const c of parsed) {
      const why = unbackedReason(c, head.machine.memory, head.machine.type);
      if (why && !head.allowUnbackedMemmap) problems.push({ pos: src.posOf(path), message: `${why} (set allowUnbackedMemmap: true to test exactly that)` });
      const odd = oddReason(c);
      if (odd && !head.allowOddMemmap) problems.push({ pos: src.posOf(path), message: `${odd} (set allowOddMemmap: true to test exactly that)` });
    }
  });
  const carveOuts = memmap.flat();
  if (carveOuts.length > MAX_CARVE_OUTS) {
    problems.push({ pos: src.posOf(['memmap']), message: `${carveOuts.length} carve-outs, more than ${MAX_CARVE_OUTS} (the kernel's e820 table has 128 entries; KASLR avoids only the first 4 ranges)` });
    throw new InputError(problems);
  }
  // arm64 carve-outs are in the device tree, not on the command line.
  const cmdlineBytes = Buffer.byteLength([...baseCmdline({ initrd: true, noReboot: true, arch }), ...(arch === 'x86_64' ? memmap.map(formatMemmapArg) : []), ...head.cmdline].join(' '));
  if (cmdlineBytes > MAX_CMDLINE_BYTES) {
    problems.push({ pos: src.posOf(head.cmdline.length ? ['cmdline'] : ['memmap']), message: `the kernel command line would be ${cmdlineBytes} bytes with the harness's own arguments; x86 keeps at most ${MAX_CMDLINE_BYTES} (COMMAND_LINE_SIZE 2048) and cuts the rest without a word` });
  }
  const memmapPos = (arg: number | undefined) => src.posOf(typeof head.memmap === 'string' || arg === undefined ? ['memmap'] : ['memmap', arg]);
  const overlap = findOverlap(memmap);
  if (overlap) problems.push({ pos: memmapPos(overlap.arg), message: overlap.message });
  if (arch === 'arm64' && memmap.length === memmapTexts.length && !overlap) {
    // Carve-outs become pmem-region nodes and RAM taken away through /chosen (vm/dtb-plan.ts).
    for (const p of planDtb(memmap, head.machine.memory, head.machine.carveOut).problems) problems.push({ pos: memmapPos(p.arg), message: p.message });
  }
  for (const [i, arg] of head.cmdline.entries()) {
    if (/^memmap=/.test(arg)) problems.push({ pos: src.posOf(['cmdline', i]), message: 'put carve-outs in memmap:, not cmdline:, so the harness can check them' });
  }

  const steps: Step[] = [];
  const defined = new Map<string, unknown>();
  const filled = new Map<string, unknown>();
  (head.steps as unknown[]).forEach((rawStep, index) => {
    const step = checkStep(src, rawStep, index, head.timeouts.step, problems, { defined, filled });
    if (step) steps.push(step);
    if (step && STEP_KINDS.get(step.kind)!.reboots?.(step.params).includes('power-cycle') && !head.machine.ramFile) {
      problems.push({ pos: src.posOf(['steps', index]), message: 'a power-cycle reboot needs `machine: { ramFile: true }` (guest RAM in a host file), or the carve-out is lost with QEMU' });
    }
    if (step?.kind === 'ramdax') {
      const rp = step.params as { driver: string; expect: { bind: string } };
      if (arch === 'arm64' && rp.driver === 'nd_e820') problems.push({ pos: src.posOf(['steps', index, 'ramdax', 'driver']), message: 'nd_e820 binds the x86 e820_pmem device; on arm64 the label-less control is of_pmem' });
      if (arch === 'x86_64' && rp.driver === 'of_pmem') problems.push({ pos: src.posOf(['steps', index, 'ramdax', 'driver']), message: 'of_pmem binds device-tree pmem-region nodes: it needs machine: { arch: arm64 } (the x86 control is nd_e820)' });
      if (arch === 'x86_64' && rp.expect.bind === 'fail') problems.push({ pos: src.posOf(['steps', index, 'ramdax', 'expect', 'bind']), message: 'expect.bind: fail is implemented for the device-tree path (machine: { arch: arm64 })' });
    }
    if (step?.kind === 'reboot' && (step.params as { method?: string }).method === 'kexec' && arch === 'arm64') {
      problems.push({ pos: src.posOf(['steps', index]), message: "a kexec reboot is x86_64 only: on arm64 kexec_file_load builds the next kernel's device tree without /chosen/linux,usable-memory-range, so the carve-outs would come back as System RAM" });
    }
  });

  if (problems.length) throw new InputError(problems);
  if (arch === 'arm64') {
    // The device-tree path binds pmem-region devices, not e820_pmem: say so in the default title.
    for (const st of steps) if (st.kind === 'ramdax' && st.name.startsWith('bind e820_pmem ')) st.name = st.name.replace('bind e820_pmem ', 'bind pmem-region nodes ');
  }
  const { steps: _s, memmap: _m, matrix: _x, exclude: _e, ...rest } = head;
  return { ...rest, file: src.file, memmap, carveOuts, steps };
}

/** What earlier steps of a scenario left for later ones to use: namespaces (`as:`) and fills, each with its step's parameters. */
interface Names {
  defined: Map<string, unknown>;
  filled: Map<string, unknown>;
}

function checkStep(src: YamlSource, raw: unknown, index: number, defaultTimeout: number, problems: Problem[], { defined, filled }: Names): Step | undefined {
  const at = ['steps', index];
  const known = [...STEP_KINDS.keys()].join(', ');
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push({ pos: src.posOf(at), message: `a step is a mapping with one step kind (${known})` });
    return undefined;
  }
  const obj = raw as Record<string, unknown>;
  const kinds = Object.keys(obj).filter((k) => !STEP_META.has(k));
  const unknown = kinds.filter((k) => !STEP_KINDS.has(k));
  if (unknown.length) {
    problems.push({ pos: src.posOf([...at, unknown[0]!], { key: true }), message: `unknown step kind '${unknown[0]}' (known: ${known})` });
    return undefined;
  }
  if (kinds.length !== 1) {
    problems.push({ pos: src.posOf(kinds.length ? [...at, kinds[1]!] : at, { key: true }), message: kinds.length ? `a step has exactly one kind, found ${kinds.join(' and ')}` : `a step needs a kind (${known})` });
    return undefined;
  }
  const kind = STEP_KINDS.get(kinds[0]!)!;
  let value = obj[kind.kind];
  if (value === null || value === undefined) value = {};
  if (typeof value === 'string' && kind.shorthand) value = kind.shorthand(value);
  const parsed = kind.schema.safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(src.problemOf(issue, [...at, kind.kind]));
    return undefined;
  }
  const params = parsed.data;
  let timeoutMs = defaultTimeout;
  if (obj.timeout !== undefined) {
    const ms = Timeout.safeParse(obj.timeout);
    if (!ms.success) problems.push(...ms.error.issues.map((i) => src.problemOf(i, [...at, 'timeout'])));
    else timeoutMs = ms.data;
  }
  if (obj.name !== undefined && (typeof obj.name !== 'string' || obj.name.length === 0 || obj.name.length > 120 || /[#\n]/.test(obj.name) || CONTROL.test(obj.name))) {
    const ctl = typeof obj.name === 'string' ? CONTROL.exec(obj.name)?.[0] : undefined;
    problems.push({ pos: src.posOf([...at, 'name']), message: `a step name is a non-empty string of at most 120 characters without #, line breaks or control characters${ctl && ctl !== '\n' ? ` (found ${printable(ctl)})` : ''}` });
  }
  for (const use of kind.uses?.(params) ?? []) {
    const pos = src.posOf([...at, kind.kind, ...(typeof use.param === 'string' ? [use.param] : use.param)]);
    if (!defined.has(use.name)) problems.push({ pos, message: `namespace '${use.name}' is not defined by an earlier step (namespace: {as: ${use.name}, ...})` });
    else if (use.filled && !filled.has(use.name)) problems.push({ pos, message: `namespace '${use.name}' has no earlier fill to verify (fill: { namespace: ${use.name} })` });
  }
  const cross = kind.crossCheck?.(params, defined, filled);
  if (cross) problems.push({ pos: src.posOf([...at, kind.kind, cross.param]), message: cross.message });
  for (const name of kind.undefines?.(params) ?? []) {
    if (name === '*') {
      defined.clear();
      filled.clear();
    } else {
      defined.delete(name);
      filled.delete(name);
    }
  }
  for (const name of kind.fills?.(params) ?? []) filled.set(name, params);
  for (const name of kind.defines?.(params) ?? []) {
    if (defined.has(name)) problems.push({ pos: src.posOf([...at, kind.kind, 'as']), message: `namespace '${name}' is already defined by an earlier step` });
    defined.set(name, params);
  }
  let expect: Step['expect'];
  if (obj.expect !== undefined) {
    const e = Expect.safeParse(obj.expect);
    if (!e.success) problems.push(...e.error.issues.map((i) => src.problemOf(i, [...at, 'expect'])));
    else expect = e.data;
  }
  const name = typeof obj.name === 'string' ? obj.name : kind.title(params);
  return { index, kind: kind.kind, name, timeoutMs, params, ...(expect ? { expect } : {}) };
}

/** The first carve-out that overlaps an earlier one, with the memmap argument it is in. */
function findOverlap(args: MemmapArg[]): { arg: number; message: string } | undefined {
  const seen: { c: CarveOut; arg: number }[] = [];
  for (const [arg, list] of args.entries()) {
    for (const c of list) {
      const other = seen.find((o) => c.start < o.c.start + o.c.size && o.c.start < c.start + c.size);
      if (other) return { arg, message: `memmap carve-outs overlap: ${describe(c)} and ${describe(other.c)}` };
      seen.push({ c, arg });
    }
  }
  return undefined;
}

const describe = (c: CarveOut) => `${formatSize(c.size)}!${formatSize(c.start)} (${hex(c.start)}-${hex(c.start + c.size - 1)})`;

/**
 * Scenario files named on the command line: files, or every *.yaml in a
 * folder — with `recursive`, in its subfolders too (`validate` checks every
 * shipped scenario; `run scenarios/` runs only the top folder, the default run).
 */
export async function scenarioFiles(paths: string[], opts: { recursive?: boolean } = {}): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    // Every *.yaml entry that is not a folder to walk is read as a scenario: one that is a FIFO,
    // a device, a symlink loop (or a folder, without recursion) is refused there, never read or skipped.
    for (const e of entries) if (/\.ya?ml$/.test(e.name) && !(opts.recursive && e.isDirectory())) out.push(join(dir, e.name));
    if (opts.recursive) for (const e of entries) if (e.isDirectory()) await walk(join(dir, e.name));
  };
  for (const p of paths) {
    const abs = resolve(p);
    const st = await statInput(abs).catch((err: unknown) => {
      throw err instanceof InputFileError ? new InputError([{ pos: { file: p, line: 1, col: 1 }, message: err.message }]) : err;
    });
    if (st.isDirectory()) await walk(abs);
    else out.push(abs);
  }
  return out;
}

/** Load every scenario; all problems of all files are reported together. */
export async function loadScenarios(paths: string[], catalog: Catalog, opts: { recursive?: boolean } = {}): Promise<Scenario[]> {
  const files = await scenarioFiles(paths, opts);
  const problems: Problem[] = [];
  const out: Scenario[] = [];
  const names = new Map<string, string>();
  for (const file of files) {
    try {
      const cases = await loadScenarioFile(file, catalog);
      const name = cases[0]!.name;
      if (names.has(name)) {
        problems.push({ pos: { file, line: 1, col: 1 }, message: `scenario name '${name}' is also used by ${names.get(name)}` });
      } else names.set(name, file);
      out.push(...cases);
    } catch (err) {
      if (err instanceof InputError) problems.push(...err.problems);
      else throw err;
    }
  }
  if (files.length === 0) problems.push({ pos: { file: paths.join(' '), line: 1, col: 1 }, message: 'no scenario files (*.yaml) found' });
  if (problems.length) throw new InputError(problems);
  return out;
}

