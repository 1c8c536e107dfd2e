/**
 * A real browser (Debian's chromium, installed by setup) renders history.html
 * of four nights: the DOM holds the status table and a trend plot whose newest
 * point is marked as a regression; the screenshot shows the regression colour.
 * No QEMU.
 */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { PNG } from 'pngjs';
import { cli, tempDir } from '../helpers/cli.js';
import { writeNights } from '../fixtures/nights.js';

const root = await tempDir('ramdax-it-history-');
await writeNights(join(root, 'results'));
const html = join(root, 'history.html');
const run = await cli(['history', join(root, 'results'), '--html', html]);
const profile = await tempDir('ramdax-it-chromium-');
const chromium = (args: string[]) => execa('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--no-first-run', `--user-data-dir=${profile}`, ...args], { reject: false, timeout: 180_000, stdin: 'ignore' });

t.test('the DOM chromium built: status table and trend plot with verdicts', async (t) => {
  t.equal(run.exitCode, 1, 'the newest night regressed');
  const r = await chromium(['--dump-dom', `file://${html}`]);
  t.equal(r.exitCode, 0, String(r.stderr).slice(-500));
  const dom = String(r.stdout);
  t.match(dom, /<table id="status">/);
  t.equal((dom.match(/<tr><td>/g) ?? []).length, 3, 'a row per case');
  t.match(dom, /failing since night-3/);
  t.equal((dom.match(/<circle class="point"/g) ?? []).length, 4, 'a point per night');
  t.match(dom, /data-run="4" data-verdict="regression"/);
});

t.test('the screenshot shows the plot with the regression colour', async (t) => {
  const shot = join(root, 'history.png');
  const r = await chromium([`--screenshot=${shot}`, '--window-size=900,900', `file://${html}`]);
  t.equal(r.exitCode, 0, String(r.stderr).slice(-500));
  const png = PNG.sync.read(await readFile(shot));
  t.equal(png.width, 900);
  let orange = 0;
  for (let i = 0; i < png.data.length; i += 4) if (Math.abs(png.data[i]! - 0xd5) < 12 && Math.abs(png.data[i + 1]! - 0x5e) < 12 && png.data[i + 2]! < 20) orange++;
  t.ok(orange > 20, `regression-coloured pixels drawn (${orange})`);
});
