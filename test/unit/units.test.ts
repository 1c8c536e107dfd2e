import t from 'tap';
import { formatDuration, formatSize, parseDuration, parseSize, sizeProblem } from '../../harness/common/units.js';

const K = 1024;
const M = 1024 ** 2;
const G = 1024 ** 3;
const T = 1024 ** 4;
const show = (v: string | number) => (typeof v === 'string' ? JSON.stringify(v) : String(v));

t.test('parseSize: plain numbers, suffixes, hex', async (t) => {
  const good: [string | number, number][] = [
    ['0', 0],
    ['4096', 4096],
    ['00012', 12],
    ['128K', 128 * K],
    ['512M', 512 * M],
    ['4G', 4 * G],
    ['2T', 2 * T],
    ['4g', 4 * G],
    ['1KiB', K],
    ['1KB', K],
    ['1kb', K],
    ['16MiB', 16 * M],
    ['0x1000', 4096],
    ['0X1000', 4096],
    ['0xfffff', 0xfffff],
    ['0xABCDEF', 0xabcdef],
    ['0x10M', 16 * M],
    ['  4G  ', 4 * G],
    ['4 G', 4 * G],
    [0, 0],
    [4096, 4096],
    [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  ];
  for (const [input, bytes] of good) t.equal(parseSize(input), bytes, `parseSize(${show(input)})`);
});

t.test('parseSize: malformed input is undefined', async (t) => {
  const bad: (string | number)[] = ['', ' ', 'abc', 'G', '4X', '1P', '1.5G', '-1', '-1G', '1e3', '0x', '0xg', '4GG', '4G!', '4 GiBs', 'M4', -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY];
  for (const input of bad) t.equal(parseSize(input), undefined, `parseSize(${show(input)}) is undefined`);
});

t.test('parseSize: overflow past 2^53 is refused, not rounded', async (t) => {
  t.equal(parseSize('9007199254740991'), Number.MAX_SAFE_INTEGER);
  t.equal(parseSize('9007199254740992'), undefined, '2^53 is not a safe integer');
  t.equal(parseSize('99999999999999999999'), undefined);
  t.equal(parseSize('8191T'), 8191 * T, 'largest whole-T size below 2^53');
  t.equal(parseSize('8192T'), undefined, '8192T == 2^53');
  t.equal(parseSize('0x20000000000000'), undefined, '2^53 in hex');
  t.equal(parseSize('0x1fffffffffffff'), Number.MAX_SAFE_INTEGER);
  t.equal(parseSize(2 ** 53), undefined);
});

t.test('formatSize: shortest exact spelling', async (t) => {
  const cases: [number, string][] = [
    [0, '0'],
    [1, '1'],
    [1023, '1023'],
    [1024, '1K'],
    [1536, '1536'],
    [4096, '4K'],
    [M, '1M'],
    [1536 * K, '1536K'],
    [G, '1G'],
    [3 * G, '3G'],
    [4608 * M, '4608M'],
    [T, '1T'],
    [5 * T, '5T'],
  ];
  for (const [bytes, text] of cases) t.equal(formatSize(bytes), text, `formatSize(${bytes})`);
});

t.test('formatSize and parseSize round trip', async (t) => {
  for (const bytes of [0, 1, 512, 4096, 12345, 2 * M, 1536 * K, 256 * M, 4 * G, 4608 * M, 3 * T]) {
    t.equal(parseSize(formatSize(bytes)), bytes, `round trip ${bytes}`);
  }
});

t.test('parseDuration: units and bare seconds', async (t) => {
  const good: [string | number, number][] = [
    ['90s', 90_000],
    ['2m', 120_000],
    ['500ms', 500],
    ['1h', 3_600_000],
    ['1.5s', 1500],
    ['1.5', 1500],
    ['10', 10_000],
    ['0', 0],
    [' 5s ', 5000],
    ['5 s', 5000],
    ['0.5m', 30_000],
    ['1.0005ms', 1],
    [0, 0],
    [2, 2000],
    [1.5, 1500],
  ];
  for (const [input, ms] of good) t.equal(parseDuration(input), ms, `parseDuration(${show(input)})`);
});

t.test('parseDuration: malformed input is undefined', async (t) => {
  const bad: (string | number)[] = ['', 'abc', '-1', '-1s', '1d', '5S', '5sec', '1m30s', '.5s', '1.s', 's', '1e3', -1, Number.NaN, Number.POSITIVE_INFINITY];
  for (const input of bad) t.equal(parseDuration(input), undefined, `parseDuration(${show(input)}) is undefined`);
});

t.test('formatDuration', async (t) => {
  t.equal(formatDuration(0), '0ms');
  t.equal(formatDuration(999), '999ms');
  t.equal(formatDuration(1000), '1.0s');
  t.equal(formatDuration(90_000), '90.0s');
  t.equal(formatDuration(1250), '1.3s');
});

t.test('parseSize is strict: B is a hex digit, so a hex size never ends in a B unit', async (t) => {
  // Found by the hostile-input audit: `0x10000B` was read as 1,048,587 bytes without a word.
  t.equal(parseSize('0x10000B'), undefined, '0x10000B is refused, not 1048587');
  t.equal(parseSize('0x10000b'), undefined, 'lower case too');
  t.equal(parseSize('0xAB'), undefined, 'any hex size ending in b: write it in decimal');
  t.match(sizeProblem('0x10000B')!, /ambiguous: in a hex number B is a digit \(0x10000B = 1048587 bytes\).*write 0x10000 for 65536 bytes or 1048587/);
  t.equal(parseSize('0x10000'), 65536);
  t.equal(parseSize('0x10KB'), 16 * K, 'a unit after hex is unambiguous (K is no hex digit)');
  t.equal(parseSize('0x10KiB'), 16 * K);
  t.equal(parseSize('4096B'), 4096, 'a decimal byte count may end in B');
  t.equal(parseSize('4096 B'), 4096);
  for (const bad of ['4iB', '4Bi', '0x10iB', '4KBB', '4KiBB', '4 iB']) t.equal(parseSize(bad), undefined, `${bad} is refused`);
  t.equal(sizeProblem('4G'), undefined);
  t.match(sizeProblem('99999999T')!, /too large/);
  t.match(sizeProblem('12X')!, /bad size '12X'/);
});
