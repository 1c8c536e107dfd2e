/**
 * Real QEMU and a real browser: runs boot-smoke, writes its report, and has
 * Debian's chromium render it headless. The screenshot must be a PNG of the
 * window size that is not blank and shows the report's own colours (the pass
 * badge from the inline CSS, the boot bars from the inline SVG); the DOM
 * chromium built must hold the case table.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { PNG } from 'pngjs';
import t from 'tap';
import { cli, tempDir } from '../helpers/cli.js';

const results = await tempDir('ramdax-it-report-');
const run = await cli(['run', 'scenarios/boot-smoke.yaml', '--results', results]);
const runDir = join(results, (await readdir(results))[0] ?? 'missing');
const profile = await tempDir('ramdax-it-chromium-');
const WIDTH = 1100;
const HEIGHT = 1500;

/** Headless chromium, no network use, root-friendly; its own profile folder. */
const chromium = (args: string[]) =>
  execa('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--no-first-run', `--user-data-dir=${profile}`, ...args], { reject: false, timeout: 180_000, stdin: 'ignore' });

t.test('boot-smoke ran for real', async (t) => {
  t.equal(run.exitCode, 0, `exit 0 (stderr tail: ${String(run.stderr).split('\n').slice(-10).join('\n')})`);
});

t.test('report command writes report.html, metrics.csv and metrics.json', async (t) => {
  const r = await cli(['report', runDir]);
  t.equal(r.exitCode, 0, String(r.stderr));
  for (const f of ['report.html', 'metrics.csv', 'metrics.json']) t.ok((await stat(join(runDir, f))).size > 0, `${f} written`);
  const json = JSON.parse(await readFile(join(runDir, 'metrics.json'), 'utf8'));
  t.ok(Array.isArray(json.metrics), 'metrics.json lists metrics');
  t.match(await readFile(join(runDir, 'metrics.csv'), 'utf8'), /^run,case,scenario,point,kernel,accel,metric,/);
});

t.test('chromium renders the report: right size, not blank, CSS and SVG applied', async (t) => {
  const shot = join(runDir, 'report.png');
  const r = await chromium([`--screenshot=${shot}`, `--window-size=${WIDTH},${HEIGHT}`, `file://${join(runDir, 'report.html')}`]);
  t.equal(r.exitCode, 0, `chromium exit 0 (${String(r.stderr).split('\n').slice(-3).join(' | ')})`);
  const png = PNG.sync.read(await readFile(shot));
  t.equal(png.width, WIDTH, 'screenshot width');
  t.equal(png.height, HEIGHT, 'screenshot height');
  const colours = new Map<number, number>();
  let sum = 0;
  let sumSq = 0;
  const n = png.width * png.height;
  for (let i = 0; i < png.data.length; i += 4) {
    const rgb = (png.data[i]! << 16) | (png.data[i + 1]! << 8) | png.data[i + 2]!;
    colours.set(rgb, (colours.get(rgb) ?? 0) + 1);
    const lum = 0.299 * png.data[i]! + 0.587 * png.data[i + 1]! + 0.114 * png.data[i + 2]!;
    sum += lum;
    sumSq += lum * lum;
  }
  const variance = sumSq / n - (sum / n) ** 2;
  t.ok(variance > 100, `luminance variance ${variance.toFixed(0)} > 100: not a blank page`);
  t.ok(colours.size > 50, `${colours.size} distinct colours`);
  const white = colours.get(0xffffff) ?? 0;
  t.ok(white < n * 0.97 && white > n * 0.3, `white share ${((100 * white) / n).toFixed(1)} %: a page with content on a white background`);
  t.ok((colours.get(0x1a7f37) ?? 0) > 50, 'the green pass badge (inline CSS) is drawn');
  t.ok((colours.get(0x0072b2) ?? 0) > 200, 'the first boot phase bar (inline SVG) is drawn');
});

t.test('the DOM chromium built holds the case table and the boot chart', async (t) => {
  const r = await chromium(['--dump-dom', `file://${join(runDir, 'report.html')}`]);
  t.equal(r.exitCode, 0);
  const dom = String(r.stdout);
  t.match(dom, /<tr class="case-row row-pass" id="row-boot-smoke"><td><a href="#case-boot-smoke">boot-smoke<\/a>/, 'one passing row for the case');
  t.match(dom, /<td>7\.2\.\d+\+deb\d+-amd64<\/td>/, 'kernel release in the table');
  t.match(dom, /<svg[^>]*class="chart boot"/, 'boot chart present');
  t.equal((dom.match(/<rect class="phase"/g) ?? []).length, 5, 'all five boot milestones drawn');
  t.match(dom, /id="case-boot-smoke"[^]*kernel release is the one set up/, 'per-case points listed');
});

t.test('a baseline adds the comparison section', async (t) => {
  const r = await cli(['report', runDir, '--baseline', runDir]);
  t.equal(r.exitCode, 0);
  t.match(await readFile(join(runDir, 'report.html'), 'utf8'), /id="baseline"[^]*boot-smoke/);
});

t.test('a folder without results.json is bad input (exit 2)', async (t) => {
  const empty = await tempDir('ramdax-it-noreport-');
  const r = await cli(['report', empty]);
  t.equal(r.exitCode, 2);
  t.match(String(r.stderr), /results\.json: cannot read \(ENOENT\)/);
});
