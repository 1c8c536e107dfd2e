/**
 * Wrong blocks in words (pure): which namespace, block, byte offset (and
 * physical address where the namespace maps linearly), and what was found
 * there — e.g. "block 1234 at offset 0x4d2000 holds the data of block 77".
 */
import { hex, layerOf, type FillRecord } from './pattern.js';
import type { BadBlock, ToolReport } from './tool.js';

/** The namespace being checked, as a failure names it. */
export interface Subject {
  /** The scenario's name for it (`as:`). */
  name: string;
  /** ndctl's name (namespace0.0) and the device read (/dev/pmem0). */
  dev: string;
  path: string;
  /** Physical address of the device's byte 0, when the device maps memory linearly (not BTT). */
  phys?: number;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const bytesAt = (got: string, want: string) => `read ${got.slice(0, 16)}…, expected ${want.slice(0, 16)}…`;

/** What a fill name stands for in a message. */
function whose(name: string, rec: FillRecord): string {
  return name === rec.name ? 'this namespace' : `namespace '${name}'`;
}

/** One wrong block, e.g. `block 1234 at offset 0x4d2000 (phys 0x1004d2000) holds the data of block 77 (offset 0x4d000)`. */
export function describeBlock(b: BadBlock, s: Subject, rec: FillRecord): string {
  const where = `block ${b.block} at offset ${hex(b.offset)}${s.phys !== undefined ? ` (phys ${hex(s.phys + b.offset)})` : ''}`;
  const f = b.found;
  const differ = `${plural(b.diffBytes, 'byte')} differ${b.diffBytes === 1 ? 's' : ''}, first at +${hex(b.firstDiff)} (${bytesAt(b.got, b.want)})`;
  switch (f.kind) {
    case 'zeros':
      return `${where} reads back as zeros`;
    case 'ones':
      return `${where} reads back as 0xff bytes`;
    case 'header':
      return `${where} holds a pattern block of ${f.blockSize} bytes, not ${rec.bs}`;
    case 'unit':
      return `${where} lost its header; from +${hex(f.at)} on it holds the data of block ${f.block} (offset ${hex(f.offset)}, seed ${f.seed}) of ${f.tag === rec.tag ? 'this namespace' : 'another fill'}: ${differ}`;
    case 'unknown':
      return `${where} holds unrecognised data: ${differ}`;
    case 'block': {
      const mine = f.name === rec.name;
      const same = mine && f.block === b.block && f.seed === b.seed;
      if (same) return `${where}: ${plural(f.diffBytes ?? b.diffBytes, 'byte')} corrupted, first at +${hex(f.firstDiff ?? b.firstDiff)} (${bytesAt(f.got ?? b.got, f.want ?? b.want)})`;
      let what: string;
      if (mine && f.block === b.block) {
        const by = layerOf(rec.layers, b.block)?.by;
        what = `still holds seed ${f.seed} from an earlier fill: the write of seed ${b.seed}${by ? ` (${by})` : ''} did not land`;
      } else if (mine && f.seed === b.seed) what = `holds the data of block ${f.block} (offset ${hex(f.offset)})`;
      else if (mine) what = `holds block ${f.block} (offset ${hex(f.offset)}) of the fill with seed ${f.seed}`;
      else what = `holds block ${f.block} (offset ${hex(f.offset)}) of ${whose(f.name, rec)} (seed ${f.seed})`;
      return f.intact ? `${where} ${what}` : `${where} ${what}, damaged: ${plural(f.diffBytes ?? 0, 'byte')} differ from that block`;
    }
  }
}

/** Block ranges as `5-6, 1234, 2000`. */
export function rangesText(ranges: [number, number][], more: number): string {
  const parts = ranges.map(([a, b]) => (b - a === 1 ? String(a) : `${a}-${b - 1}`));
  return `${parts.join(', ')}${more ? `, and ${more} more range${more === 1 ? '' : 's'}` : ''}`;
}

/**
 * The failure of one verify pass, e.g.
 * `namespace 'pm' (namespace0.0, /dev/pmem0): 1 of 16384 blocks wrong after the write: block 1234 at offset 0x4d2000 holds the data of block 77 (offset 0x4d000)`.
 */
export function describeReport(report: ToolReport, s: Subject, rec: FillRecord, when: string, detail = 3): string | undefined {
  const done = report.done;
  if (!done || done.bad === 0) return undefined;
  const shown = report.bad.slice(0, detail).map((b) => describeBlock(b, s, rec));
  const rest = done.bad - shown.length;
  return `namespace '${s.name}' (${s.dev}, ${s.path}): ${done.bad} of ${plural(done.blocks, 'block')} wrong ${when}: ${shown.join('; ')}${rest > 0 ? `; and ${rest} more (blocks ${rangesText(done.ranges, done.moreRanges)})` : ''}`;
}
