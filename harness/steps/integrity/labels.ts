/**
 * Label isolation: every DIMM's label area (read by the fill tool with the
 * ioctls `ndctl read-labels` uses), before and after data is written. Data steps must leave it byte for byte as it was;
 * only namespace changes may alter it. The comparison and the naming of what
 * changed (index block, label slot) are pure.
 */
import { createHash } from 'node:crypto';
import { hex } from './pattern.js';

/** Label areas by DIMM (nmem0 → its bytes). */
export type LabelSnapshot = Map<string, Buffer>;

export const digest = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

// ---------------------------------------------------------------- what lives where in a label area

/** The namespace index block (struct nd_namespace_index) fields that locate the labels. */
export interface LabelIndex {
  at: number;
  seq: number;
  size: number;
  labelOff: number;
  nslot: number;
  labelSize: number;
}

const SIG = Buffer.from('NAMESPACE_INDEX\0', 'latin1');

/** The valid-looking index blocks of a label area (signature, sane offsets). */
export function readIndexes(area: Buffer): LabelIndex[] {
  const out: LabelIndex[] = [];
  const tryAt = (at: number) => {
    if (at + 72 > area.length || !area.subarray(at, at + 16).equals(SIG)) return undefined;
    const idx: LabelIndex = {
      at,
      seq: area.readUInt32LE(at + 20),
      size: Number(area.readBigUInt64LE(at + 32)),
      labelOff: Number(area.readBigUInt64LE(at + 48)),
      nslot: area.readUInt32LE(at + 56),
      labelSize: 1 << (7 + area[at + 19]!),
    };
    if (Number(area.readBigUInt64LE(at + 24)) !== at || idx.size <= 0 || idx.size > area.length || idx.labelOff >= area.length) return undefined;
    out.push(idx);
    return idx;
  };
  const first = tryAt(0);
  if (first) tryAt(first.size);
  return out;
}

/** Where a byte of the label area lies: an index block, a label slot (with its uuid when in use), or elsewhere. */
export function labelRegion(area: Buffer, offset: number): string {
  const idx = readIndexes(area);
  for (const [i, x] of idx.entries()) if (offset >= x.at && offset < x.at + x.size) return `namespace index block ${i} (seq ${x.seq})`;
  const x = idx[0];
  if (!x) return 'label area without a valid namespace index';
  if (offset >= x.labelOff && offset < x.labelOff + x.nslot * x.labelSize) {
    const slot = Math.floor((offset - x.labelOff) / x.labelSize);
    const base = x.labelOff + slot * x.labelSize;
    const uuid = area.subarray(base, base + 16);
    const used = uuid.some((b) => b !== 0);
    return `label slot ${slot}${used ? ` (namespace ${formatUuid(uuid)})` : ' (empty)'}`;
  }
  return 'beyond the label slots';
}

const formatUuid = (b: Buffer) => {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

/** Byte ranges [start, end) where two buffers differ, gaps under 16 bytes merged (pure). */
export function diffRanges(a: Buffer, b: Buffer): [number, number][] {
  const n = Math.max(a.length, b.length);
  const out: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    if (a[i] === b[i]) continue;
    const last = out.at(-1);
    if (last && i - last[1] < 16) last[1] = i + 1;
    else out.push([i, i + 1]);
  }
  return out;
}

/** Count of differing bytes (pure). */
function diffCount(a: Buffer, b: Buffer): number {
  let n = Math.abs(a.length - b.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) n++;
  return n;
}

/**
 * What changed between two snapshots, one message per DIMM (pure), e.g.
 * `nmem0: 1 byte changed at 0x1a64 (label slot 9 (empty))`.
 */
export function compareLabels(before: LabelSnapshot, after: LabelSnapshot): string[] {
  const out: string[] = [];
  const names = [...new Set([...before.keys(), ...after.keys()])].sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
  for (const d of names) {
    const a = before.get(d);
    const b = after.get(d);
    if (!a) {
      out.push(`${d}: a DIMM that was not there before`);
      continue;
    }
    if (!b) {
      out.push(`${d}: the DIMM is gone`);
      continue;
    }
    if (a.equals(b)) continue;
    if (a.length !== b.length) {
      out.push(`${d}: the label area was ${a.length} bytes, now ${b.length}`);
      continue;
    }
    const ranges = diffRanges(a, b);
    const shown = ranges.slice(0, 3).map(([s, e]) => `${e - s === 1 ? hex(s) : `${hex(s)}-${hex(e - 1)}`} (${labelRegion(a, s)}: ${a.subarray(s, Math.min(e, s + 8)).toString('hex')} → ${b.subarray(s, Math.min(e, s + 8)).toString('hex')})`);
    const n = diffCount(a, b);
    out.push(`${d}: ${n} byte${n === 1 ? '' : 's'} changed in ${ranges.length} place${ranges.length === 1 ? '' : 's'}: ${shown.join('; ')}${ranges.length > 3 ? `; and ${ranges.length - 3} more` : ''}`);
  }
  return out;
}
