/** history: per-case status over nights, metric series with compare's verdicts, the gate. */
import t from 'tap';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { buildHistory, historyText } from '../../harness/results/history.js';
import { historyHtml } from '../../harness/report/history-html.js';
import { cli, tempDir } from '../helpers/cli.js';
import { nights, writeNights } from '../fixtures/nights.js';

const ID = 'perf-tmpfs :: fio read :: fio:read-4k-psync:bw';

t.test('since when a case fails; a metric followed by its stable id', async (t) => {
  const h = buildHistory([...nights()].reverse());
  t.same(h.runs.map((r) => r.runId), ['night-1', 'night-2', 'night-3', 'night-4'], 'oldest first whatever the input order');
  const fs = h.cases.find((c) => c.id === 'fsdax-ext4')!;
  t.same(fs.statuses, ['pass', 'pass', 'fail', 'fail']);
  t.equal(fs.failingSince, 'night-3');
  t.equal(fs.lastPass, 'night-2');
  t.equal(h.cases.find((c) => c.id === 'boot-smoke')!.failingSince, undefined);
  const m = h.metrics.find((x) => x.id === ID)!;
  t.ok(m, 'the metric id has no figures in it');
  t.same(m.medians.map((v) => Math.round(v!)), [100, 101, 100, 60]);
  t.equal(m.verdicts[0], undefined, 'the first night has nothing to compare with');
  t.not(m.verdicts[2], 'regression', 'noise is not a regression');
  t.equal(m.verdicts[3], 'regression', 'a 40 % drop is, against the 3 nights before');
  const text = historyText(h);
  t.match(text, /fsdax-ext4\s+ok\s+ok\s+FAIL\s+FAIL\s+failing since night-3 \(last pass night-2\)/);
  t.match(text, /60\.0▼/);
  t.match(historyHtml(h), /data-verdict="regression"/);
});

t.test('history command: exit 1 on a regression in the newest run, --metric gates one id, a folder of runs works', async (t) => {
  const root = await tempDir('ramdax-history-');
  const dirs = await writeNights(root);
  const html = join(root, 'history.html');
  const r = await cli(['history', root, '--html', html]);
  t.equal(r.exitCode, 1, String(r.stderr));
  t.match(String(r.stderr), new RegExp(`regression in the newest run: ${ID.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  t.match(String(r.stdout), /failing since night-3/);
  t.match(await readFile(html, 'utf8'), /<table id="status">/);
  const other = await cli(['history', ...dirs, '--metric', ID]);
  t.equal(other.exitCode, 1, 'gated on the regressed metric');
  const unknown = await cli(['history', ...dirs, '--metric', 'nope']);
  t.equal(unknown.exitCode, 2);
  t.match(String(unknown.stderr), /--metric nope: no such metric in these runs \(known: perf-tmpfs :: fio read :: fio:read-4k-psync:bw\)/);
  const three = await cli(['history', ...dirs.slice(0, 3)]);
  t.equal(three.exitCode, 0, 'three nights without a regression pass (the failing case is shown, the gate is on metrics)');
  const one = await cli(['history', dirs[0]!]);
  t.equal(one.exitCode, 2, 'one run is not a history');
});
