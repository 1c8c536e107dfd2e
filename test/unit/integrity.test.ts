/**
 * The pure core of the data-integrity steps: extents, layered fills, the fill
 * tool's report, how a wrong block is named, label areas compared and named.
 */
import t from 'tap';
import { deflateSync } from 'node:zlib';
import { describeBlock, describeReport, rangesText } from '../../harness/steps/integrity/describe.js';
import { physStart } from '../../harness/steps/integrity/device.js';
import { busShape } from '../../harness/steps/bind.js';
import { compareLabels, diffRanges, labelRegion, readIndexes } from '../../harness/steps/integrity/labels.js';
import { extentBlocks, layerOf, segmentsOf, tagOf, type FillRecord } from '../../harness/steps/integrity/pattern.js';
import { parseToolOutput, type BadBlock } from '../../harness/steps/integrity/tool.js';

const K = 1024;
const M = K * K;

t.test('extentBlocks: all, edges, an explicit range, and what does not fit', async (t) => {
  t.same(extentBlocks('all', 16384, 4096, 4096), [[0, 16384]]);
  t.same(extentBlocks('edges', 16384, 4096, 4096), [[0, 1], [16383, 16384]], 'first and last block');
  t.same(extentBlocks('edges', 16384, 4096, 64 * K), [[0, 16], [16368, 16384]], '64 KiB each end');
  t.same(extentBlocks('edges', 3, 4096, 4096), [[0, 1], [2, 3]], 'a 12 KiB device: first and last of three');
  t.same(extentBlocks('edges', 2, 4096, 4096), [[0, 2]], 'edges that meet are the whole device, once');
  t.same(extentBlocks({ offset: 16 * M, length: 4 * M }, 16384, 4096, 4096), [[4096, 5120]]);
  t.match(extentBlocks({ offset: 62 * M, length: 4 * M }, 16384, 4096, 4096), /runs past the end of the device \(67108864 bytes\)/);
  t.match(extentBlocks('all', 0, 4096, 4096), /no whole block/);
});

t.test('segmentsOf: the newest layer wins; untouched blocks are not checked', async (t) => {
  const l = (first: number, end: number, seed: number) => ({ first, end, seed, by: `s${seed}` });
  t.same(segmentsOf([l(0, 100, 1)]), [[0, 100, 1]]);
  t.same(segmentsOf([l(0, 100, 1), l(0, 1, 2), l(99, 100, 2)]), [[0, 1, 2], [1, 99, 1], [99, 100, 2]], 'edges rewritten over a full fill');
  t.same(segmentsOf([l(0, 10, 1), l(90, 100, 1)]), [[0, 10, 1], [90, 100, 1]], 'a gap stays unchecked');
  t.same(segmentsOf([l(0, 10, 1), l(10, 20, 1)]), [[0, 20, 1]], 'adjacent ranges of one seed merge');
  t.same(segmentsOf([l(0, 50, 1), l(20, 80, 2), l(40, 60, 3)]), [[0, 20, 1], [20, 40, 2], [40, 60, 3], [60, 80, 2]]);
  t.same(segmentsOf([]), []);
  t.equal(layerOf([l(0, 100, 1), l(99, 100, 2)], 99)?.by, 's2');
  t.equal(layerOf([l(0, 100, 1), l(99, 100, 2)], 5)?.by, 's1');
  t.equal(layerOf([l(0, 100, 1)], 100), undefined);
});

t.test('tagOf: the crc32 of the name, stable', async (t) => {
  t.equal(tagOf('pm'), tagOf('pm'));
  t.not(tagOf('pm'), tagOf('pn'));
  t.equal(tagOf(''), 0);
});

// ---------------------------------------------------------------- the tool's report

const TOOL_OUT = [
  '{"job":1,"event":"start","op":"verify","dev":"/dev/pmem0","size":8388608,"blocks":2048,"bs":4096}',
  '{"job":1,"event":"bad","block":5,"offset":20480,"seed":7,"diffBytes":1024,"firstDiff":0,"lastDiff":4093,"got":"00000000000000000000000000000000","want":"52445846494c4c01706d000000000000","found":{"kind":"zeros"}}',
  '{"job":1,"event":"bad","block":1234,"offset":5054464,"seed":7,"diffBytes":508,"firstDiff":32,"lastDiff":4082,"got":"4d0000000000000000d0040000000000","want":"d20400000000000000204d0000000000","found":{"kind":"block","name":"pm","seed":7,"block":77,"offset":315392,"tag":1234,"intact":true}}',
  '{"job":1,"event":"bad","block":2000,"offset":8192000,"seed":7,"diffBytes":1,"firstDiff":100,"lastDiff":100,"got":"5500000007000000d204000000007d00","want":"0000000007000000d204000000007d00","found":{"kind":"block","name":"pm","seed":7,"block":2000,"offset":8192000,"tag":1234,"intact":false,"diffBytes":1,"firstDiff":100,"got":"5500000007000000d204000000007d00","want":"0000000007000000d204000000007d00"}}',
  '{"job":1,"event":"done","op":"verify","blocks":2048,"bytes":8388608,"bad":4,"ranges":[[5,7],[1234,1235],[2000,2001]],"moreRanges":0,"seconds":0.134}',
].join('\n');

t.test('parseToolOutput: events into per-job reports; anything else is an error', async (t) => {
  const r = parseToolOutput(`${TOOL_OUT}\n`);
  const p = r.patterns.get(1)!;
  t.equal(p.size, 8388608);
  t.equal(p.bad.length, 3);
  t.same(p.done, { blocks: 2048, bytes: 8388608, bad: 4, ranges: [[5, 7], [1234, 1235], [2000, 2001]], moreRanges: 0, seconds: 0.134 });
  t.equal(r.error, undefined);
  t.match(parseToolOutput('Traceback (most recent call last):\n').error, /unexpected output from the fill tool: Traceback/);
  t.equal(parseToolOutput('{"job":0,"event":"error","message":"cannot open /dev/pmem9: [Errno 2]"}').error, 'cannot open /dev/pmem9: [Errno 2]');
  t.equal(parseToolOutput('{"job":0,"event":"start","op":"verify","dev":"/dev/x","size":1,"blocks":1,"bs":4096}').patterns.get(0)?.done, undefined, 'no done event: the tool died');
  t.match(parseToolOutput('{"job":0,"event":"bad","block":"x"}').error, /unexpected output/, 'a malformed event is not silently dropped');
});

t.test('parseToolOutput: label areas, zlib or raw, checked for size', async (t) => {
  const area = labelArea();
  const line = (job: number, dimm: string, enc: string, data: Buffer, size = area.length) => JSON.stringify({ job, event: 'labels', dimm, size, enc, data: data.toString('base64') });
  const r = parseToolOutput([line(0, 'nmem0', 'zlib', deflateSync(area)), line(0, 'nmem1', 'raw', area), line(2, 'nmem0', 'zlib', deflateSync(area))].join('\n'));
  t.ok(r.labels.get(0)?.get('nmem0')?.equals(area), 'zlib round-trips');
  t.ok(r.labels.get(0)?.get('nmem1')?.equals(area), 'raw round-trips');
  t.same([...r.labels.keys()], [0, 2], 'one snapshot per labels job');
  t.equal(parseToolOutput(line(0, 'nmem0', 'raw', area, 999)).error, 'the label area of nmem0 did not arrive intact');
});

const rec: FillRecord = { bs: 4096, name: 'pm', tag: 1234, layers: [{ first: 0, end: 2048, seed: 7, by: "'fill pm'" }] };
const subject = { name: 'pm', dev: 'namespace0.0', path: '/dev/pmem0' };
const bad = (over: Partial<BadBlock>): BadBlock => ({ block: 1234, offset: 0x4d2000, seed: 7, diffBytes: 508, firstDiff: 32, lastDiff: 4082, got: '00', want: '11', found: { kind: 'unknown' }, ...over });

t.test('describeBlock names the block, its offset and what it holds', async (t) => {
  const [zeros, moved, flipped] = parseToolOutput(TOOL_OUT).patterns.get(1)!.bad;
  t.equal(describeBlock(moved!, subject, rec), 'block 1234 at offset 0x4d2000 holds the data of block 77 (offset 0x4d000)');
  t.equal(describeBlock(moved!, { ...subject, phys: 0x100000000 }, rec), 'block 1234 at offset 0x4d2000 (phys 0x1004d2000) holds the data of block 77 (offset 0x4d000)');
  t.equal(describeBlock(zeros!, subject, rec), 'block 5 at offset 0x5000 reads back as zeros');
  t.equal(describeBlock(flipped!, subject, rec), 'block 2000 at offset 0x7d0000: 1 byte corrupted, first at +0x64 (read 5500000007000000…, expected 0000000007000000…)');
  t.equal(describeBlock(bad({ found: { kind: 'block', name: 'other', seed: 2, block: 5, offset: 0x5000, tag: 9, intact: true } }), subject, rec), "block 1234 at offset 0x4d2000 holds block 5 (offset 0x5000) of namespace 'other' (seed 2)");
  t.equal(describeBlock(bad({ found: { kind: 'block', name: 'pm', seed: 3, block: 1234, offset: 0x4d2000, tag: 1234, intact: true } }), subject, rec), "block 1234 at offset 0x4d2000 still holds seed 3 from an earlier fill: the write of seed 7 ('fill pm') did not land");
  t.equal(describeBlock(bad({ found: { kind: 'block', name: 'pm', seed: 3, block: 8, offset: 0x8000, tag: 1234, intact: true } }), subject, rec), 'block 1234 at offset 0x4d2000 holds block 8 (offset 0x8000) of the fill with seed 3');
  t.equal(describeBlock(bad({ found: { kind: 'block', name: 'pm', seed: 7, block: 8, offset: 0x8000, tag: 1234, intact: false, diffBytes: 3 } }), subject, rec), 'block 1234 at offset 0x4d2000 holds the data of block 8 (offset 0x8000), damaged: 3 bytes differ from that block');
  t.equal(describeBlock(bad({ found: { kind: 'ones' } }), subject, rec), 'block 1234 at offset 0x4d2000 reads back as 0xff bytes');
  t.equal(describeBlock(bad({ found: { kind: 'header', blockSize: 512 } }), subject, rec), 'block 1234 at offset 0x4d2000 holds a pattern block of 512 bytes, not 4096');
  t.equal(
    describeBlock(bad({ diffBytes: 4032, firstDiff: 64, got: 'aa', want: 'bb', found: { kind: 'unit', at: 64, block: 77, offset: 0x4d000, seed: 7, tag: 1234 } }), subject, rec),
    'block 1234 at offset 0x4d2000 lost its header; from +0x40 on it holds the data of block 77 (offset 0x4d000, seed 7) of this namespace: 4032 bytes differ, first at +0x40 (read aa…, expected bb…)',
  );
  t.equal(describeBlock(bad({ diffBytes: 1, firstDiff: 0, got: 'ff', want: '52' }), subject, rec), 'block 1234 at offset 0x4d2000 holds unrecognised data: 1 byte differs, first at +0x0 (read ff…, expected 52…)');
});

t.test('describeReport: one line naming the namespace, the count and the first blocks', async (t) => {
  const report = parseToolOutput(TOOL_OUT).patterns.get(1)!;
  t.equal(
    describeReport(report, subject, rec, 'after a warm reboot'),
    "namespace 'pm' (namespace0.0, /dev/pmem0): 4 of 2048 blocks wrong after a warm reboot: block 5 at offset 0x5000 reads back as zeros; block 1234 at offset 0x4d2000 holds the data of block 77 (offset 0x4d000); block 2000 at offset 0x7d0000: 1 byte corrupted, first at +0x64 (read 5500000007000000…, expected 0000000007000000…); and 1 more (blocks 5-6, 1234, 2000)",
  );
  t.equal(describeReport({ bad: [], done: { blocks: 10, bytes: 40960, bad: 0, ranges: [], moreRanges: 0, seconds: 1 } }, subject, rec, 'x'), undefined, 'nothing wrong: no message');
  t.equal(rangesText([[1, 2], [4, 9]], 3), '1, 4-8, and 3 more ranges');
});

t.test('physStart: linear for raw, fsdax and devdax (data start of the pfn/dax device), none for BTT', async (t) => {
  t.equal(physStart('raw', '0x100000000', '', ''), 0x100000000);
  t.equal(physStart('fsdax', '0x100000000', 'pfn0.1', '0x100200000'), 0x100200000);
  t.equal(physStart('devdax', '0x100000000', 'dax0.1', '0x140000000'), 0x140000000);
  t.equal(physStart('sector', '0x100000000', 'btt0.1', ''), undefined);
  t.equal(physStart('fsdax', '0x100000000', '', ''), undefined, 'no holder: unknown');
  t.equal(physStart('raw', 'garbage', '', ''), undefined);
});

// ---------------------------------------------------------------- label areas

/** A label area as the kernel lays it out (v1.2: 256-byte labels after two index blocks). */
function labelArea(o: { size?: number; nslot?: number; used?: number[] } = {}): Buffer {
  const size = o.size ?? 128 * K;
  const area = Buffer.alloc(size);
  const nslot = o.nslot ?? 508;
  const indexSize = Math.ceil((72 + Math.ceil(nslot / 8)) / 256) * 256;
  for (const [i, at] of [0, indexSize].entries()) {
    area.write('NAMESPACE_INDEX\0', at, 'latin1');
    area[at + 19] = 1; // labelsize: 256 bytes
    area.writeUInt32LE(i + 1, at + 20); // seq
    area.writeBigUInt64LE(BigInt(at), at + 24); // myoff
    area.writeBigUInt64LE(BigInt(indexSize), at + 32); // mysize
    area.writeBigUInt64LE(BigInt(i === 0 ? indexSize : 0), at + 40); // otheroff
    area.writeBigUInt64LE(BigInt(2 * indexSize), at + 48); // labeloff
    area.writeUInt32LE(nslot, at + 56);
  }
  for (const slot of o.used ?? []) area.fill(0xab, 2 * indexSize + slot * 256, 2 * indexSize + slot * 256 + 16);
  return area;
}

t.test('readIndexes and labelRegion name index blocks and label slots', async (t) => {
  const area = labelArea({ used: [0] });
  const idx = readIndexes(area);
  t.same(idx.map((x) => [x.at, x.seq, x.size, x.labelOff, x.nslot, x.labelSize]), [[0, 1, 256, 512, 508, 256], [256, 2, 256, 512, 508, 256]]);
  t.equal(labelRegion(area, 0x10), 'namespace index block 0 (seq 1)');
  t.equal(labelRegion(area, 0x110), 'namespace index block 1 (seq 2)');
  t.equal(labelRegion(area, 512 + 3), 'label slot 0 (namespace abababab-abab-abab-abab-abababababab)');
  t.equal(labelRegion(area, 512 + 9 * 256 + 100), 'label slot 9 (empty)');
  t.equal(labelRegion(Buffer.alloc(128 * K), 5), 'label area without a valid namespace index');
  t.same(readIndexes(Buffer.alloc(64)), [], 'too small for an index');
});

t.test('compareLabels: unchanged is silent; a changed byte names the DIMM, the offset and the slot', async (t) => {
  const a = labelArea({ used: [0, 1] });
  const b = Buffer.from(a);
  b[512 + 9 * 256 + 100] = 0x55;
  t.same(compareLabels(new Map([['nmem0', a]]), new Map([['nmem0', Buffer.from(a)]])), []);
  t.same(compareLabels(new Map([['nmem0', a], ['nmem1', a]]), new Map([['nmem0', a], ['nmem1', b]])), ['nmem1: 1 byte changed in 1 place: 0xb64 (label slot 9 (empty): 00 → 55)']);
  const c = Buffer.from(a);
  c.writeUInt32LE(3, 20);
  c.fill(0xcd, 768, 784);
  t.same(compareLabels(new Map([['nmem0', a]]), new Map([['nmem0', c]])), [
    'nmem0: 17 bytes changed in 2 places: 0x14 (namespace index block 0 (seq 1): 01 → 03); 0x300-0x30f (label slot 1 (namespace abababab-abab-abab-abab-abababababab): abababababababab → cdcdcdcdcdcdcdcd)',
  ]);
  t.same(compareLabels(new Map([['nmem0', a]]), new Map()), ['nmem0: the DIMM is gone']);
  t.same(compareLabels(new Map(), new Map([['nmem2', a]])), ['nmem2: a DIMM that was not there before']);
  t.same(diffRanges(Buffer.from([0, 1, 2, 3]), Buffer.from([0, 9, 2, 9])), [[1, 4]], 'differences under 16 bytes apart are one range');
});

t.test('busShape: DIMM count and region sizes, not names (the kernel may renumber regions)', async (t) => {
  const bus = (names: string[], sizes: number[]) => ({ provider: 'ramdax', dev: 'ndbus0', dimms: names.map((dev) => ({ dev })), regions: sizes.map((size, i) => ({ dev: `region${names.length - i}`, size })) });
  t.equal(busShape(bus(['nmem0', 'nmem1'], [256 * M, 2176 * M])), '2 DIMMs, region sizes 268435456, 2281701376');
  t.equal(busShape(bus(['nmem3', 'nmem2'], [2176 * M, 256 * M])), busShape(bus(['nmem0', 'nmem1'], [256 * M, 2176 * M])));
  t.not(busShape(bus(['nmem0'], [256 * M])), busShape(bus(['nmem0', 'nmem1'], [256 * M, 2176 * M])));
  t.equal(busShape(undefined), 'no bus');
});
