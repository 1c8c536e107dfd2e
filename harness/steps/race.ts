import { z } from 'zod';
import { command } from '../common/shell-quote.js';
import { formatSize } from '../common/units.js';
import { Size } from '../scenario/types.js';
import { asArray, type NdBus } from './ndctl.js';
import { boundProblems, identities, namespaceChanges, parseSnapshot, SNAPSHOT_COMMAND, type NdSnapshot } from './nd-sysfs.js';
import { fail, refreshNamespaces, snapshot } from './ramdax-bind.js';
import { runBody, StepFailure, type StepRecorder } from './recorder.js';
import type { StepContext, StepKind } from './types.js';

export const RACES = ['namespaces-on-two-regions', 'labels-while-creating', 'bind-vs-list'] as const;

const Params = z
  .object({
    /**
     * namespaces-on-two-regions: create and destroy namespaces on two regions at
     * once; labels-while-creating: `ndctl read-labels` in a loop while namespaces
     * are created; bind-vs-list: unbind/bind ramdax while `ndctl list` runs in a loop.
     */
    what: z.enum(RACES),
    /** Rounds of the main loop (creates, or unbind/bind pairs). */
    iterations: z.number().int().min(1).max(200).default(8),
    size: Size.default(32 * 1024 ** 2),
    mode: z.enum(['raw', 'fsdax', 'devdax', 'sector']).default('raw'),
  })
  .strict();
type Params = z.output<typeof Params>;

/** Per-operation time limit inside the guest: a hung ndctl ends as exit 124, not as a hung step. */
const OP_TIMEOUT = 60;

/** One `@op NAME WORKER ITER RC [words…]` line per operation; `@@ NAME` starts a section. */
export interface RaceOp {
  op: string;
  worker: string;
  iter: number;
  rc: number;
  words: string[];
}

export function parseRaceOutput(text: string): { ops: RaceOp[]; sections: Record<string, string> } {
  const ops: RaceOp[] = [];
  const sections: Record<string, string> = {};
  let name: string | undefined;
  for (const line of text.replace(/\n$/, '').split('\n')) {
    const m = /^@op (\S+) (\S+) (\d+) (\d+)(?: (.*))?$/.exec(line);
    if (m) {
      ops.push({ op: m[1]!, worker: m[2]!, iter: Number(m[3]), rc: Number(m[4]), words: (m[5] ?? '').split(/\s+/).filter(Boolean) });
      continue;
    }
    const s = /^@@ (\S+)$/.exec(line);
    if (s) {
      name = s[1]!;
      sections[name] = '';
    } else if (name !== undefined) sections[name] += `${line}\n`;
  }
  return { ops, sections };
}

const CREATE_FN = (mode: string, size: number) =>
  `create() { out=$(timeout ${OP_TIMEOUT} ndctl create-namespace -r "$1" ${command('-m', mode, '-s', size)} 2>&1); rc=$?; ` +
  `dev=$(printf '%s\\n' "$out" | sed -n 's/.*"dev":"\\([^"]*\\)".*/\\1/p' | head -n1); ` +
  `uuid=$(printf '%s\\n' "$out" | sed -n 's/.*"uuid":"\\([^"]*\\)".*/\\1/p' | head -n1); ` +
  `echo "@op create $2 $3 $rc \${dev:--} \${uuid:--}"; [ $rc -eq 0 ] || printf '%s\\n' "$out" | tail -n 3 | sed 's/^/@err /'; }`;

/** Two workers, one per region, each creating and destroying a namespace `n` times, at the same time. */
export function twoRegionsScript(regions: [string, string], n: number, mode: string, size: number): string {
  return [
    CREATE_FN(mode, size),
    `worker() { i=0; while [ $i -lt ${n} ]; do i=$((i+1)); create "$1" "$2" $i; [ "$dev" != "" ] && { timeout ${OP_TIMEOUT} ndctl destroy-namespace -f "$dev" > /dev/null 2>&1; echo "@op destroy $2 $i $? $dev"; }; done; }`,
    `worker ${command(regions[0])} a > /tmp/harness-race.a 2>&1 &`,
    `worker ${command(regions[1])} b > /tmp/harness-race.b 2>&1 &`,
    'wait',
    'cat /tmp/harness-race.a /tmp/harness-race.b',
    "echo '@@ after'",
    SNAPSHOT_COMMAND,
  ].join('\n');
}

/** A reader loops over `ndctl read-labels` of the region's DIMM while `n` namespaces are created one after another. */
export function labelsScript(region: string, dimm: string, n: number, mode: string, size: number): string {
  return [
    CREATE_FN(mode, size),
    'rm -f /tmp/harness-race.stop',
    `reader() { i=0; while [ ! -e /tmp/harness-race.stop ] && [ $i -lt 2000 ]; do i=$((i+1)); timeout ${OP_TIMEOUT} ndctl read-labels ${command(dimm)} > /tmp/harness-race.labels 2> /dev/null; rc=$?; echo "@op read r $i $rc $(wc -c < /tmp/harness-race.labels)"; done; }`,
    'reader > /tmp/harness-race.r 2>&1 &',
    `i=0; while [ $i -lt ${n} ]; do i=$((i+1)); create ${command(region)} c $i; done`,
    'touch /tmp/harness-race.stop; wait',
    'cat /tmp/harness-race.r',
    "echo '@@ labels'",
    `ndctl read-labels -j ${command(dimm)} 2>/dev/null`,
  ].join('\n');
}

/** `n` unbind/bind pairs of ramdax while a lister runs `ndctl list -BDRN` in a loop; every listing is printed. */
export function bindListScript(n: number): string {
  return [
    'rm -f /tmp/harness-race.stop /tmp/harness-race.out.*',
    `lister() { i=0; while [ ! -e /tmp/harness-race.stop ] && [ $i -lt 2000 ]; do i=$((i+1)); timeout ${OP_TIMEOUT} ndctl list -BDRN > /tmp/harness-race.out.$i 2> /tmp/harness-race.err; rc=$?; echo "@op list l $i $rc $(wc -c < /tmp/harness-race.out.$i)"; [ $rc -eq 0 ] || sed 's/^/@err /' /tmp/harness-race.err | tail -n 3; done; }`,
    'lister > /tmp/harness-race.l 2>&1 &',
    `i=0; while [ $i -lt ${n} ]; do i=$((i+1)); echo e820_pmem > /sys/bus/platform/drivers/ramdax/unbind; echo "@op unbind u $i $?"; echo e820_pmem > /sys/bus/platform/drivers/ramdax/bind; echo "@op bind u $i $?"; done`,
    'touch /tmp/harness-race.stop; wait',
    'cat /tmp/harness-race.l',
    'for f in /tmp/harness-race.out.*; do echo "@@ list-${f##*.}"; cat "$f"; done; rm -f /tmp/harness-race.out.*',
    "echo '@@ after'",
    SNAPSHOT_COMMAND,
  ].join('\n');
}

const failed = (ops: RaceOp[], op: string) => ops.filter((o) => o.op === op && o.rc !== 0);
const describeFailed = (fs: RaceOp[]) => fs.slice(0, 4).map((o) => `${o.op} #${o.iter} (${o.worker}) exit ${o.rc}${o.rc === 124 ? ' (timed out)' : ''}`).join(', ');

/** Judge namespaces-on-two-regions (pure): every create and destroy succeeded, uuids distinct, nothing left, space free again. */
export function judgeTwoRegions(ops: RaceOp[], after: NdSnapshot, n: number, regionsBefore: Map<string, number>): string[] {
  const out: string[] = [];
  const creates = ops.filter((o) => o.op === 'create');
  const destroys = ops.filter((o) => o.op === 'destroy');
  if (creates.length !== 2 * n) out.push(`expected ${2 * n} creates, the workers reported ${creates.length}`);
  const bad = [...failed(ops, 'create'), ...failed(ops, 'destroy')];
  if (bad.length) out.push(`${bad.length} operation(s) failed: ${describeFailed(bad)}`);
  if (destroys.length !== creates.filter((c) => c.rc === 0).length) out.push(`${creates.filter((c) => c.rc === 0).length} namespaces created but ${destroys.length} destroyed`);
  const uuids = creates.map((c) => c.words[1]).filter((u): u is string => !!u && u !== '-');
  if (new Set(uuids).size !== uuids.length) out.push('two creates returned the same uuid');
  const bus = after.ndctl.find((b) => b.provider === 'ramdax');
  const left = identities(after);
  if (left.length) out.push(`${left.length} namespace(s) left after the race: ${left.map((l) => l.uuid).join(', ')}`);
  for (const r of asArray(bus?.regions)) {
    const was = regionsBefore.get(r.dev);
    if (was !== undefined && r.available_size !== was) out.push(`${r.dev}: available_size ${r.available_size} after the race, ${was} before`);
  }
  return out;
}

/** Judge labels-while-creating (pure): every read whole, every create done, every created uuid in the labels. */
export function judgeLabels(ops: RaceOp[], labelsJson: string, n: number, labelBytes: number): string[] {
  const out: string[] = [];
  const reads = ops.filter((o) => o.op === 'read');
  const creates = ops.filter((o) => o.op === 'create');
  if (reads.length === 0) out.push('the reader never ran');
  const badReads = reads.filter((o) => o.rc !== 0 || Number(o.words[0]) !== labelBytes);
  if (badReads.length) out.push(`${badReads.length} of ${reads.length} label reads failed or were short: ${badReads.slice(0, 4).map((o) => `#${o.iter} exit ${o.rc}, ${o.words[0]} bytes`).join(', ')} (expected ${labelBytes} bytes)`);
  if (creates.length !== n) out.push(`expected ${n} creates, ${creates.length} ran`);
  const badCreates = failed(ops, 'create');
  if (badCreates.length) out.push(`${badCreates.length} create(s) failed: ${describeFailed(badCreates)}`);
  // `ndctl read-labels -j` prints an array with one object per DIMM: { dev, index: [...], label: [...] }.
  let labels: { label?: { uuid?: string }[] } | undefined;
  try {
    labels = asArray(JSON.parse(labelsJson) as NonNullable<typeof labels> | NonNullable<typeof labels>[])[0];
  } catch {
    out.push('ndctl read-labels -j printed something that is not JSON');
  }
  const inLabels = new Set(asArray(labels?.label).map((l) => l.uuid));
  for (const c of creates.filter((x) => x.rc === 0)) {
    if (!inLabels.has(c.words[1])) out.push(`namespace ${c.words[0]} (${c.words[1]}) is not in the DIMM's labels`);
  }
  return out;
}

/** Judge bind-vs-list (pure): every unbind/bind succeeded, every listing exited 0 with JSON (or nothing), the end state exact. */
export function judgeBindList(ops: RaceOp[], listings: Record<string, string>, n: number): { problems: string[]; seen: Record<string, number> } {
  const out: string[] = [];
  for (const op of ['unbind', 'bind']) {
    const all = ops.filter((o) => o.op === op);
    if (all.length !== n) out.push(`expected ${n} ${op}s, ${all.length} ran`);
    const bad = failed(ops, op);
    if (bad.length) out.push(`${bad.length} ${op}(s) failed: ${describeFailed(bad)}`);
  }
  const lists = ops.filter((o) => o.op === 'list');
  if (lists.length === 0) out.push('the lister never ran');
  const badLists = failed(ops, 'list');
  if (badLists.length) out.push(`${badLists.length} of ${lists.length} ndctl list runs failed: ${describeFailed(badLists)}`);
  // What ndctl saw while the bus came and went: nothing, a bus being set up or torn down, or a whole one.
  const seen: Record<string, number> = {};
  for (const [name, text] of Object.entries(listings)) {
    if (!name.startsWith('list-')) continue;
    let buses: NdBus[];
    try {
      buses = text.trim() ? asArray(JSON.parse(text) as NdBus | NdBus[]) : [];
    } catch {
      out.push(`ndctl list #${name.slice(5)} printed something that is not JSON: ${text.slice(0, 120)}`);
      continue;
    }
    const b = buses.find((x) => x.provider === 'ramdax');
    const key = !b ? 'no bus' : `${asArray(b.dimms).length} dimm(s), ${asArray(b.regions).length} region(s)`;
    seen[key] = (seen[key] ?? 0) + 1;
  }
  return { problems: out, seen };
}

export const raceStep: StepKind<Params> = {
  kind: 'race',
  summary: 'bounded concurrency: namespaces on two regions at once, label reads while creating, bind/unbind racing ndctl list; each with its expected outcome',
  schema: Params as z.ZodType<Params, unknown>,
  shorthand: (what) => ({ what }),
  title: (p) =>
    p.what === 'namespaces-on-two-regions'
      ? `create/destroy ${p.mode} ${formatSize(p.size)} namespaces on two regions at once, ${p.iterations} each`
      : p.what === 'labels-while-creating'
        ? `ndctl read-labels in a loop while ${p.iterations} ${p.mode} namespaces are created`
        : `${p.iterations} unbind/bind of ramdax while ndctl list runs in a loop`,
  run: (ctx, p) =>
    runBody(ctx, async (r) => {
      const before = await snapshot(r, 'before the race');
      const start = boundProblems(before, { driver: 'ramdax', dimms: ctx.carveOuts.length, regions: ctx.carveOuts.length });
      if (start.length) fail('the race needs e820_pmem bound to ramdax first', start);
      const bus = before.ndctl.find((b) => b.provider === 'ramdax')!;
      const regions = asArray(bus.regions).map((x) => x.dev).sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
      r.details.regions = regions;
      if (p.what === 'namespaces-on-two-regions') return twoRegions(r, p, before, regions);
      if (p.what === 'labels-while-creating') return labelsWhileCreating(r, p, before, regions[0]!);
      return bindVsList(ctx, r, p, before);
    }),
};

function parseAfter(text: string | undefined, label: string): NdSnapshot {
  try {
    return parseSnapshot(text ?? '');
  } catch {
    throw new StepFailure(`${label}: ndctl list printed something that is not JSON`);
  }
}

async function twoRegions(r: StepRecorder, p: Params, before: NdSnapshot, regions: string[]): Promise<void> {
  r.check(regions.length >= 2, `this race needs two regions (two carve-outs), ramdax has ${regions.length}`);
  r.check(identities(before).length === 0, 'this race starts from regions without namespaces (destroy them first)');
  const avail = new Map(asArray(before.ndctl.find((b) => b.provider === 'ramdax')!.regions).map((x) => [x.dev, x.available_size ?? 0]));
  const t0 = Date.now();
  const res = await r.sh(twoRegionsScript([regions[0]!, regions[1]!], p.iterations, p.mode, p.size), { allowFail: true });
  r.details.ms = Date.now() - t0;
  const { ops, sections } = parseRaceOutput(res.stdout);
  r.details.operations = ops.length;
  r.details.errors = res.stdout.split('\n').filter((l) => l.startsWith('@err ')).slice(0, 10);
  const problems = judgeTwoRegions(ops, parseAfter(sections.after, 'after the race'), p.iterations, avail);
  if (problems.length) fail('namespaces on two regions at once', problems);
}

async function labelsWhileCreating(r: StepRecorder, p: Params, before: NdSnapshot, region: string): Promise<void> {
  r.check(identities(before).length === 0, 'this race starts from a region without namespaces (destroy them first)');
  const mapping = asArray(asArray(before.ndctl.find((b) => b.provider === 'ramdax')!.regions).find((x) => x.dev === region)?.mappings)[0];
  r.check(mapping !== undefined, `${region} has no DIMM mapping in ndctl list`);
  const dimm = mapping!.dimm;
  const size = Number((await r.sh(command('ndctl', 'read-labels', dimm) + ' | wc -c')).stdout.trim());
  r.details.labelAreaBytes = size;
  const t0 = Date.now();
  const res = await r.sh(labelsScript(region, dimm, p.iterations, p.mode, p.size), { allowFail: true });
  r.details.ms = Date.now() - t0;
  const { ops, sections } = parseRaceOutput(res.stdout);
  r.details.reads = ops.filter((o) => o.op === 'read').length;
  r.details.errors = res.stdout.split('\n').filter((l) => l.startsWith('@err ')).slice(0, 10);
  const problems = judgeLabels(ops, sections.labels ?? '', p.iterations, size);
  // Leave the region as found, whatever happened.
  await r.sh(command('ndctl', 'destroy-namespace', '-f', '-r', region, 'all'), { allowFail: true });
  if (problems.length) fail('label reads while creating namespaces', problems);
}

async function bindVsList(ctx: StepContext, r: StepRecorder, p: Params, before: NdSnapshot): Promise<void> {
  r.check(before.mounts.length === 0, `${before.mounts.map((m) => m.target).join(', ')} mounted: unmount before racing unbinds`);
  const ids = identities(before);
  const t0 = Date.now();
  const res = await r.sh(bindListScript(p.iterations), { allowFail: true });
  r.details.ms = Date.now() - t0;
  const { ops, sections } = parseRaceOutput(res.stdout);
  const { problems, seen } = judgeBindList(ops, sections, p.iterations);
  r.details.listings = ops.filter((o) => o.op === 'list').length;
  r.details.seen = seen;
  r.details.errors = res.stdout.split('\n').filter((l) => l.startsWith('@err ')).slice(0, 10);
  const after = parseAfter(sections.after, 'after the race');
  problems.push(...boundProblems(after, { driver: 'ramdax', dimms: ctx.carveOuts.length, regions: ctx.carveOuts.length, namespaces: ids.length }), ...namespaceChanges(ids, identities(after)));
  if (problems.length) fail('bind/unbind racing ndctl list', problems);
  refreshNamespaces(ctx, after);
}
