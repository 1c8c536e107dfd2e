/**
 * What a `fill` step wrote where (pure): the layers of a namespace's fills,
 * the block ranges an extent covers, and the seed each block must hold.
 */
import { crc32 } from 'node:zlib';

/** One fill: blocks [first, end) were written with `seed` by the step `by`. */
export interface Layer {
  first: number;
  end: number;
  seed: number;
  by: string;
}

/** Everything the harness wrote to one namespace, oldest layer first. */
export interface FillRecord {
  /** Bytes per pattern block (every block carries its own header). */
  bs: number;
  /** The name written into every block header (the scenario's namespace name). */
  name: string;
  tag: number;
  layers: Layer[];
}

/** Which part of a namespace a fill covers. */
export type Extent = 'all' | 'edges' | { offset: number; length: number };

/** A disjoint, sorted range of blocks and the seed they hold. */
export type Segment = [first: number, end: number, seed: number];

/** The tag of a fill name: lets stray data name the namespace it was written to. */
export const tagOf = (name: string): number => crc32(Buffer.from(name, 'ascii'));

/**
 * Block ranges [first, end) of an extent on a device of `blocks` blocks of `bs`
 * bytes. `edges`: the first and the last `edge` bytes (both, once, when they
 * meet). Returns a message when the extent does not fit.
 */
export function extentBlocks(extent: Extent, blocks: number, bs: number, edge: number): [number, number][] | string {
  if (blocks <= 0) return `the device holds no whole block of ${bs} bytes`;
  if (extent === 'all') return [[0, blocks]];
  if (extent === 'edges') {
    const n = Math.max(1, Math.floor(edge / bs));
    if (2 * n >= blocks) return [[0, blocks]];
    return [
      [0, n],
      [blocks - n, blocks],
    ];
  }
  const first = Math.floor(extent.offset / bs);
  const end = first + Math.ceil(extent.length / bs);
  if (end > blocks) return `offset ${extent.offset} + length ${extent.length} runs past the end of the device (${blocks * bs} bytes)`;
  return [[first, end]];
}

/** The seed every block must hold: the newest layer covering it wins (pure). */
export function segmentsOf(layers: Layer[]): Segment[] {
  const cuts = [...new Set(layers.flatMap((l) => [l.first, l.end]))].sort((a, b) => a - b);
  const out: Segment[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const [a, b] = [cuts[i]!, cuts[i + 1]!];
    let seed: number | undefined;
    for (const l of layers) if (l.first <= a && b <= l.end) seed = l.seed;
    if (seed === undefined) continue;
    const last = out.at(-1);
    if (last && last[1] === a && last[2] === seed) last[1] = b;
    else out.push([a, b, seed]);
  }
  return out;
}

/** The fill layer (and so the step) that wrote a block, newest first. */
export function layerOf(layers: Layer[], block: number): Layer | undefined {
  for (let i = layers.length - 1; i >= 0; i--) {
    const l = layers[i]!;
    if (l.first <= block && block < l.end) return l;
  }
  return undefined;
}

export const blocksIn = (segments: Segment[]): number => segments.reduce((n, [a, b]) => n + b - a, 0);

export const hex = (n: number): string => `0x${n.toString(16)}`;
