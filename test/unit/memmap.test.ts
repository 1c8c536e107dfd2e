import t from 'tap';
import { formatMemmapArg, guestRamRanges, hex, parseMemmapArg, unbackedReason } from '../../harness/scenario/memmap.js';

const M = 1024 ** 2;
const G = 1024 ** 3;

t.test('parseMemmapArg: one carve-out', async (t) => {
  t.same(parseMemmapArg('1G!4G'), [{ size: G, start: 4 * G }]);
  t.same(parseMemmapArg('512M!0x100000000'), [{ size: 512 * M, start: 4 * G }]);
  t.same(parseMemmapArg(' 1G!4G '), [{ size: G, start: 4 * G }], 'surrounding blanks are ignored');
});

t.test('parseMemmapArg: comma list keeps order', async (t) => {
  t.same(parseMemmapArg('512M!4G,256M!6G'), [
    { size: 512 * M, start: 4 * G },
    { size: 256 * M, start: 6 * G },
  ]);
  t.same(parseMemmapArg('256M!6G,512M!4G'), [
    { size: 256 * M, start: 6 * G },
    { size: 512 * M, start: 4 * G },
  ]);
});

t.test('parseMemmapArg: malformed arguments give a message naming the problem', async (t) => {
  const cases: [string, RegExp][] = [
    ['12X!4G', /^bad memmap size '12X' in '12X!4G'$/],
    ['1G!4X', /^bad memmap start '4X' in '1G!4X'$/],
    ['1G', /^bad memmap '1G': write SIZE!START/],
    ['1G!!4G', /^bad memmap '1G!!4G'/],
    ['!4G', /^bad memmap '!4G'/],
    ['1G!', /^bad memmap '1G!'/],
    ['', /^bad memmap ''/],
    ['1G!4G,', /^bad memmap ''/],
    ['1G!4G,oops', /^bad memmap 'oops'/],
    ['1G$4G', /^bad memmap '1G\$4G'/],
    ['0!4G', /^memmap '0!4G' carves out nothing \(size 0\)$/],
    ['0x0!4G', /carves out nothing/],
  ];
  for (const [text, re] of cases) {
    const r = parseMemmapArg(text);
    t.type(r, 'string', `${JSON.stringify(text)} is rejected`);
    t.match(r, re, `${JSON.stringify(text)} message`);
  }
});

t.test('formatMemmapArg', async (t) => {
  t.equal(formatMemmapArg([{ size: G, start: 4 * G }]), 'memmap=1G!4G');
  t.equal(formatMemmapArg([{ size: 512 * M, start: 4 * G }, { size: 256 * M, start: 6 * G }]), 'memmap=512M!4G,256M!6G');
  t.equal(formatMemmapArg([{ size: 1536 * M, start: 4608 * M }]), 'memmap=1536M!4608M');
  t.equal(formatMemmapArg([{ size: 4096, start: 4 * G + 4096 }]), 'memmap=4K!4194308K');
});

t.test('formatMemmapArg(parseMemmapArg(x)) round trips', async (t) => {
  for (const text of ['1G!4G', '512M!4G,512M!5G', '128K!1M', '3G!8G']) {
    const parsed = parseMemmapArg(text);
    if (typeof parsed === 'string') {
      t.fail(`${text}: ${parsed}`);
      continue;
    }
    t.equal(formatMemmapArg(parsed), `memmap=${text}`);
  }
});

t.test('guestRamRanges: pc', async (t) => {
  t.same(guestRamRanges(2 * G, 'pc'), [{ start: 0, end: 2 * G }]);
  t.same(guestRamRanges(3 * G, 'pc'), [{ start: 0, end: 3 * G }], '3G still fits below the PCI hole (limit 0xe0000000)');
  t.same(guestRamRanges(0xe0000000, 'pc'), [
    { start: 0, end: 3 * G },
    { start: 4 * G, end: 4 * G + 0xe0000000 - 3 * G },
  ], 'at the 3.5G limit the low part is gigabyte-aligned to 3G');
  t.same(guestRamRanges(4 * G, 'pc'), [
    { start: 0, end: 3 * G },
    { start: 4 * G, end: 5 * G },
  ]);
  t.same(guestRamRanges(8 * G, 'pc'), [
    { start: 0, end: 3 * G },
    { start: 4 * G, end: 9 * G },
  ]);
});

t.test('guestRamRanges: q35', async (t) => {
  t.same(guestRamRanges(2 * G, 'q35'), [{ start: 0, end: 2 * G }]);
  t.same(guestRamRanges(3 * G, 'q35'), [
    { start: 0, end: 2 * G },
    { start: 4 * G, end: 5 * G },
  ], 'q35 splits above 0xb0000000, low part ends at 2G');
  t.same(guestRamRanges(4 * G, 'q35'), [
    { start: 0, end: 2 * G },
    { start: 4 * G, end: 6 * G },
  ]);
  t.same(guestRamRanges(8 * G, 'q35'), [
    { start: 0, end: 2 * G },
    { start: 4 * G, end: 10 * G },
  ]);
});

t.test('guestRamRanges: total RAM is preserved', async (t) => {
  for (const machine of ['pc', 'q35'] as const) {
    for (const mem of [512 * M, 2 * G, 3 * G, 0xb0000000, 0xe0000000, 4 * G, 8 * G, 64 * G]) {
      const total = guestRamRanges(mem, machine).reduce((n, r) => n + (r.end - r.start), 0);
      t.equal(total, mem, `${machine} ${mem}`);
    }
  }
});

t.test('unbackedReason: 1G!4G with 3G RAM on pc is not backed', async (t) => {
  const why = unbackedReason({ size: G, start: 4 * G }, 3 * G, 'pc');
  t.type(why, 'string');
  t.match(why, /carve-out 1G!4G/);
  t.match(why, /0x100000000-0x13fffffff/);
  t.match(why, /0x0-0xbfffffff/);
  t.match(why, /memory 3G on 'pc'/);
  t.match(why, /silently vanish/);
});

t.test('unbackedReason: 1G!4G with 4G RAM is backed on pc and q35', async (t) => {
  t.equal(unbackedReason({ size: G, start: 4 * G }, 4 * G, 'pc'), undefined);
  t.equal(unbackedReason({ size: G, start: 4 * G }, 4 * G, 'q35'), undefined);
  t.equal(unbackedReason({ size: G, start: 4 * G }, 8 * G, 'pc'), undefined);
});

t.test('unbackedReason: edges', async (t) => {
  t.equal(unbackedReason({ size: G, start: 2 * G }, 4 * G, 'pc'), undefined, 'inside the low range of pc');
  t.type(unbackedReason({ size: G, start: 2 * G }, 4 * G, 'q35'), 'string', 'q35 low RAM ends at 2G');
  t.type(unbackedReason({ size: 2 * G, start: 4 * G }, 4 * G, 'pc'), 'string', 'runs 1G past the end of high RAM');
  t.equal(unbackedReason({ size: 2 * G, start: 4 * G }, 4 * G, 'q35'), undefined, 'q35 has 2G above 4G with 4G RAM');
  t.type(unbackedReason({ size: 2 * G, start: 2 * G }, 8 * G, 'pc'), 'string', 'straddles the PCI hole');
  t.equal(unbackedReason({ size: 512 * M, start: 512 * M }, 1 * G, 'pc'), undefined, 'ends exactly at the end of RAM');
  t.type(unbackedReason({ size: 512 * M, start: 512 * M + 1 }, 1 * G, 'pc'), 'string', 'one byte past the end of RAM');
});

t.test('hex', async (t) => {
  t.equal(hex(0), '0x0');
  t.equal(hex(4 * G), '0x100000000');
});
