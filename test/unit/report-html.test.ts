import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { renderReport } from '../../harness/report/html.js';
import { esc } from '../../harness/report/escape.js';
import type { RunResult } from '../../harness/model/results.js';
import { root } from '../helpers/cli.js';

const fixture = (p: string) => JSON.parse(readFileSync(join(root, 'test', 'fixtures', 'report', p), 'utf8')) as RunResult;
const run = fixture('results.json');
const baseline = fixture('baseline/results.json');
const count = (s: string, re: RegExp) => (s.match(new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`)) ?? []).length;

t.test('esc escapes the five HTML specials', async (t) => {
  t.equal(esc(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  t.equal(esc(undefined), '');
});

t.test('report of the fixture run', async (t) => {
  const html = renderReport({ run });
  t.match(html, /^<!DOCTYPE html>/, 'a whole document');
  t.test('self-contained: no scripts, no external resources', async (t) => {
    t.equal(count(html, /<script/i), 0, 'no <script> at all, not even the one in the kernel message');
    t.equal(count(html, /<link|<img|<iframe|@import|url\(/i), 0, 'no linked resources');
    t.equal(count(html, /(src|href)="(https?:)?\/\//i), 0, 'no absolute URLs');
    t.equal(count(html, /<style>/), 1, 'inline CSS');
  });
  t.test('everything from the results is escaped', async (t) => {
    t.match(html, '&lt;script&gt;alert(1)&lt;/script&gt;', 'kernel message kept, escaped');
    t.match(html, 'edge/&lt;tiny&gt; &amp; &quot;odd&quot;', 'case id escaped');
    t.match(html, 'namespace &lt;creation&gt; failed', 'case reason escaped');
    t.match(html, 'a &lt; b &amp;&amp; c &gt; d', 'finding context escaped');
    t.notMatch(html, 'edge/<tiny>', 'no raw case id anywhere');
  });
  t.test('case table: one row per case with status, reason, duration, kernel', async (t) => {
    const rows = html.match(/<tr class="case-row[^]*?<\/tr>/g) ?? [];
    t.equal(rows.length, 2);
    t.match(rows[0], /perf-backends[^]*st-pass[^]*61\.2 s[^]*7\.2\.13\+deb14-amd64[^]*tcg[^]*4\/4/);
    t.match(rows[1], /st-fail[^]*namespace &lt;creation&gt; failed[^]*at #2 create fsdax namespace 1G &amp; &lt;more&gt;[^]*40\.0 s/);
  });
  t.test('findings per case', async (t) => {
    t.equal(count(html, /<li class="finding">/), 1);
    t.match(html, /<b>warning<\/b>: WARNING in ramdax_probe &lt;drivers\/nvdimm\/ramdax\.c&gt;/);
    t.match(html, /id="case-perf-backends"[^]*No kernel findings\./);
  });
  t.test('boot bars: one segment per milestone reached, warm reboots included', async (t) => {
    // perf-backends: 5 milestones, edge: 3 (no sshd/first command), edge after reboot: 5.
    t.equal(count(html, /<rect class="phase"/), 13);
    t.match(html, 'edge/&lt;tiny&gt; &amp; &quot;odd&quot; (after #4 reboot)');
  });
  t.test('metric charts: a bar and a whisker per metric, grouped by workload, backends in order', async (t) => {
    t.equal(count(html, /<svg [^>]*class="chart bars"/), 2, 'one chart per metric name');
    t.equal(count(html, /<g class="bar">/), 12, 'one bar per metric');
    t.equal(count(html, /class="whisker"/), 12, 'samples differ: every bar has a whisker');
    const readChart = html.match(/<svg [^>]*aria-label="fio:seq-read:bw[^]*?<\/svg>/)?.[0] ?? '';
    const titles = [...readChart.matchAll(/<title>([a-z-]+): median/g)].map((m) => m[1]);
    t.same(titles, ['fsdax', 'pagecache', 'virtio-blk', 'tmpfs', 'fsdax', 'pagecache', 'virtio-blk', 'tmpfs']);
    t.match(readChart, />bs=1M</);
    t.match(readChart, />bs=4k</);
  });
  t.notMatch(html, 'id="baseline"', 'no baseline section without a baseline');
});

t.test('report with a baseline', async (t) => {
  const html = renderReport({ run, baseline });
  t.match(html, /id="baseline"[^]*2026-11-26T05-00-00Z-1/);
  t.equal(count(html, /<tr class="delta-/), 12, 'every metric paired');
  t.equal(count(html, /<tr class="delta-better"/), 12, 'bandwidth up 25 %, latency down 20 %: all better');
  t.match(html, /fio:seq-read:bw<\/td><td>backend=fsdax,bs=1M,rw=read<\/td><td class="n">720<\/td><td class="n">900<\/td><td class="n">\+25 %/);
  t.match(html, /fio:rand-write:lat<\/td><td>backend=fsdax,bs=4k,rw=randwrite<\/td><td class="n">[\d.]+<\/td><td class="n">[\d.]+<\/td><td class="n">-20 %/);
  t.equal(count(html, /<tr class="changed">/), 1, 'the case whose status changed is marked');
});

t.test('an empty run renders without charts', async (t) => {
  const empty: RunResult = { ...run, cases: [], counts: { pass: 0, fail: 0, error: 0, miss: 0, skip: 0 } };
  const html = renderReport({ run: empty });
  t.match(html, 'No metrics in this run.');
  t.match(html, 'No boot timings recorded.');
  t.equal(count(html, /<tr class="case-row/), 0);
});
