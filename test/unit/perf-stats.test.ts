import t from 'tap';
import { binomial, mad, mannWhitney, median, normalCdf, ranks, relativeMad, spread, summarize } from '../../harness/perf/stats.js';

t.test('median, MAD, spread', async (t) => {
  t.equal(median([3, 1, 2]), 2);
  t.equal(median([4, 1, 3, 2]), 2.5);
  t.ok(Number.isNaN(median([])), 'no samples: NaN, not 0');
  t.equal(mad([1, 2, 3, 4, 100]), 1.4826, 'MAD ignores the outlier (scaled by 1.4826)');
  t.equal(relativeMad([10, 10, 10]), 0);
  t.equal(relativeMad([90, 100, 110]), (1.4826 * 10) / 100);
  t.equal(spread([90, 100, 110]), 0.2);
  t.same(summarize([5, 1, 3]), { median: 3, spread: 4 / 3 });
});

t.test('mid-ranks share ties', async (t) => {
  t.same(ranks([10, 20, 20, 5]), [2, 3.5, 3.5, 1]);
});

t.test('Mann-Whitney exact: separated sets of 3 give p = 1/20 one-sided', async (t) => {
  const r = mannWhitney([10, 11, 12], [1, 2, 3]);
  t.equal(r.method, 'exact');
  t.equal(r.u, 9);
  t.equal(r.pGreater, 1 / 20);
  t.equal(r.pLess, 1);
  const s = mannWhitney([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]);
  t.equal(s.pLess, 1 / 252, '5 vs 5 fully separated: 1/C(10,5)');
});

t.test('Mann-Whitney: identical sets are not significant either way', async (t) => {
  const r = mannWhitney([5, 5, 5], [5, 5, 5]);
  t.equal(r.pGreater, 1);
  t.equal(r.pLess, 1);
  const i = mannWhitney([1, 3, 5, 7], [2, 4, 6, 8]);
  t.ok(i.pGreater > 0.5 && i.pLess > 0.3, 'interleaved: large p both ways');
});

t.test('Mann-Whitney normal approximation for large sets agrees in direction', async (t) => {
  const a = Array.from({ length: 30 }, (_, i) => 100 + i);
  const b = Array.from({ length: 30 }, (_, i) => 80 + i);
  const r = mannWhitney(a, b);
  t.equal(r.method, 'normal');
  t.ok(r.pGreater < 0.001, `a > b strongly (p=${r.pGreater})`);
  t.ok(r.pLess > 0.99);
});

t.test('helpers', async (t) => {
  t.equal(binomial(10, 5), 252);
  t.ok(Math.abs(normalCdf(1.96) - 0.975) < 1e-4);
  t.ok(Math.abs(normalCdf(-1) - 0.1587) < 1e-4);
});
