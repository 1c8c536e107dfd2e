/**
 * `run --kernel source-7.2 --coverage --patch FIXTURE` on real QEMU: the gcov
 * kernel (source-7.2 + a harmless ramdax.c patch + gcov for drivers/nvdimm
 * and drivers/dax, built once and cached), two boots:
 *   cov-shared  two cases on one boot: [end=tidy] binds ramdax, reads labels,
 *               makes and destroys a namespace; [end=panic] does the same
 *               without a probe (already bound) and crashes the kernel;
 *   cov-reboot  bind, warm reboot, bind, unbind, bind (probe runs 3 times).
 * Asserted on the figures lcov/gcov produced: what ran has counts, what no
 * healthy run reaches has 0, per-case counts (the pre-reboot counters kept,
 * the shared boot's counters reset between cases), the panicking case's
 * counters reported lost, patch coverage of the fixture, genhtml's HTML and
 * report.html's section.
 */
import t from 'tap';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exists } from '../../harness/common/fs.js';
import type { CoverageSummary } from '../../harness/coverage/report.js';
import { parseTracefile, sumTests, type FileCoverage } from '../../harness/coverage/tracefile.js';
import { cli, parseTap, tempDir } from '../helpers/cli.js';

t.setTimeout(40 * 60_000);
const fixtures = 'test/fixtures/coverage';
const patch = join(fixtures, '0001-ramdax-coverage-fixture.patch');
const results = await tempDir('ramdax-it-coverage-');
const started = Date.now();
const run = await cli(['run', '--kernel', 'source-7.2', '--coverage', '--patch', patch, join(fixtures, 'cov-shared.yaml'), join(fixtures, 'cov-reboot.yaml'), '--results', results, '--report', 'wait'], { timeoutMs: 35 * 60_000 });
const wallS = (Date.now() - started) / 1000;
const stderr = String(run.stderr);
const stdout = String(run.stdout);
const runDir = join(results, (await readdir(results)).sort().at(-1) ?? 'missing');
const cov = join(runDir, 'coverage');
const summary = JSON.parse(await readFile(join(cov, 'summary.json'), 'utf8').catch(() => '{}')) as CoverageSummary;
const info = await readFile(join(cov, 'coverage.info'), 'utf8').catch(() => '');
const ramdaxOf = (m: Map<string, FileCoverage>) => [...m].find(([f]) => f.endsWith('drivers/nvdimm/ramdax.c'))?.[1];
const all = ramdaxOf(sumTests(parseTracefile(info)));
const caseInfo = async (id: string) => ramdaxOf(sumTests(parseTracefile(await readFile(join(cov, 'cases', `${id}.info`), 'utf8').catch(() => ''))));
/** The line of the patched ramdax.c (fixture applied) holding `text`, from the source copy the report keeps. */
const src = (await readFile(join(cov, 'src', 'source-7.2-cov', 'drivers', 'nvdimm', 'ramdax.c'), 'utf8').catch(async () => {
  const k = (await readdir(join(cov, 'src')).catch(() => []))[0] ?? 'missing';
  return readFile(join(cov, 'src', k, 'drivers', 'nvdimm', 'ramdax.c'), 'utf8').catch(() => '');
})).split('\n');
const lineOf = (text: string) => src.findIndex((l) => l.includes(text)) + 1;
/** A line of ramdax_register_region(), which every probe of an e820 range runs. */
const cookie = lineOf('nd_set->cookie1 = 0xcafebeefcafebeef');
t.comment(`run --coverage: ${wallS.toFixed(0)} s wall (kernel build included when not cached)`);

t.test('the run: the panicking case fails, the others pass; coverage figures in the TAP stream', async (t) => {
  t.equal(run.exitCode, 1, `exit 1 (stderr tail:\n${stderr.split('\n').slice(-25).join('\n')})`);
  const tap = await parseTap(stdout);
  t.same(tap.tapErrors, []);
  t.same(tap.points.map((p) => [p.name, p.ok]), [['cov-shared[end=tidy]', true], ['cov-shared[end=panic]', false], ['cov-reboot', true]]);
  t.match(stdout, /^# coverage: .*INCOMPLETE: some cases lost their counters/m, 'the run says its figures are a lower bound');
  t.match(stdout, /^# coverage: ramdax\.c: lines \d+(\.\d)?% \(\d+\/\d+\), functions \d+(\.\d)?% \(\d+\/\d+\), branches /m);
  t.match(stdout, /^# coverage: cov-shared\[end=panic\]: no counters — .*guest was gone/m);
});

t.test('lcov tracefile: one test name per case that has counters, SF: paths of the profiled folders only', async (t) => {
  const tests = [...parseTracefile(info).keys()].sort();
  t.same(tests, ['cov_reboot', 'cov_shared_end_tidy'], 'the panicking case contributes nothing');
  const files = [...sumTests(parseTracefile(info)).keys()];
  t.ok(files.length > 5, `${files.length} source files`);
  t.ok(files.every((f) => /^source-7\.2[\w.-]*\/drivers\/(nvdimm|dax)\//.test(f)), 'only drivers/nvdimm and drivers/dax, relative to the kept sources');
  t.ok(files.some((f) => f.endsWith('drivers/dax/bus.c')) && files.some((f) => f.endsWith('drivers/nvdimm/region_devs.c')), 'libnvdimm and dax core are profiled too');
});

t.test('ramdax.c: what ran has counts, what no healthy run reaches has none', async (t) => {
  t.ok(all, 'ramdax.c is in the tracefile');
  if (!all) return;
  t.ok((all.functions.get('ramdax_probe')?.count ?? 0) >= 4, `ramdax_probe ran (1 shared boot + 3 in cov-reboot): ${all.functions.get('ramdax_probe')?.count}`);
  t.ok((all.functions.get('ramdax_get_config_data')?.count ?? 0) > 0, 'label reads ran');
  t.ok((all.functions.get('ramdax_set_config_data')?.count ?? 0) > 0, 'label writes ran (namespace create/destroy)');
  t.ok(cookie > 0 && (all.lines.get(cookie) ?? 0) > 0, `ramdax_register_region ran: line ${cookie} count ${all.lines.get(cookie)}`);
  // Only an allocation failure reaches these: no healthy run does.
  const enomem = lineOf('coverage fixture: no memory for a DIMM');
  t.equal(all.lines.get(enomem), 0, `ramdax.c:${enomem} (kzalloc of the DIMM failed) is code and did not run`);
  const unreg = lineOf('goto err_free_nd_set');
  t.equal(all.lines.get(unreg), 0, `ramdax.c:${unreg} (region create failed) did not run`);
  // x86 has no CONFIG_OF: of_match_node() is NULL and the compiler drops the device-tree probe, so gcov has nothing to count there.
  t.notOk(all.functions.has('ramdax_probe_of'), 'ramdax_probe_of is not even instrumented on x86');
  t.equal(all.functions.get('ramdax_driver_exit')?.count, 0, 'a built-in driver\'s exit function is instrumented and never runs');
  t.match(summary.ramdaxNotRun ?? '', new RegExp(`(^|, )${enomem}(-|,|$)`), 'summary lists the unreached line');
});

t.test('per case: the counters before the reboot are kept, the shared boot resets between cases', async (t) => {
  const reboot = await caseInfo('cov-reboot');
  const tidy = await caseInfo('cov-shared_end=tidy_');
  t.equal(reboot?.functions.get('ramdax_probe')?.count, 3, 'cov-reboot: probe before the reboot, after it, after the rebind');
  t.equal(reboot?.functions.get('ramdax_remove')?.count, 1, 'cov-reboot: one unbind');
  t.equal(tidy?.functions.get('ramdax_probe')?.count, 1, 'cov-shared[end=tidy]: one probe');
  t.equal(tidy?.functions.get('ramdax_remove')?.count, 0, 'cov-shared[end=tidy]: no unbind');
  const status = JSON.parse(await readFile(join(runDir, 'cov-reboot', 'coverage', 'status.json'), 'utf8'));
  t.same(status.segments.map((s: { label: string }) => s.label), ['before warm reboot', 'before power-off']);
  t.same(status.lost, []);
  const byId = new Map(summary.cases.map((c) => [c.id, c]));
  t.equal(byId.get('cov-shared[end=tidy]')?.complete, true);
  t.equal(byId.get('cov-shared[end=tidy]')?.segments, 1, 'saved at the hand-over');
  t.equal(byId.get('cov-reboot')?.complete, true);
  const panic = byId.get('cov-shared[end=panic]');
  t.equal(panic?.complete, false, 'the panicking case is not complete');
  t.equal(panic?.segments, 0);
  t.match(panic?.lost.join('\n') ?? '', /guest was gone/);
  t.equal(summary.complete, false, 'the run as a whole is marked incomplete');
  const attribution = JSON.parse(await readFile(join(cov, 'cases.json'), 'utf8')) as { lines: Record<string, Record<string, string[]>> };
  const rd = Object.entries(attribution.lines).find(([f]) => f.endsWith('drivers/nvdimm/ramdax.c'))?.[1] ?? {};
  const removeLine = lineOf('nvdimm_bus_unregister(nvdimm_bus);');
  t.same(rd[String(removeLine)], ['cov-reboot'], `ramdax.c:${removeLine} (ramdax_remove) attributed to cov-reboot alone`);
  t.same([...(rd[String(cookie)] ?? [])].sort(), ['cov-reboot', 'cov-shared[end=tidy]'], 'ramdax_register_region attributed to both cases that probed');
});
t.test('patch coverage of the fixture: 2 of 3 changed lines ran, the error-path one did not', async (t) => {
  const enomem = lineOf('coverage fixture: no memory for a DIMM');
  t.equal(summary.patch?.summary, `2 of 3 changed lines ran; not run: ramdax.c:${enomem}`);
  t.match(stdout, new RegExp(`^# patch coverage: 2 of 3 changed lines ran; not run: ramdax\\.c:${enomem}$`, 'm'));
  const f = summary.patch?.files.find((x) => x.file === 'drivers/nvdimm/ramdax.c');
  t.same(f?.ran, [lineOf('if (!dimm) {'), lineOf('coverage fixture probed')]);
  t.ok(await exists(join(cov, 'patch.json')));
});

t.test('genhtml view and report.html section', async (t) => {
  const index = await readFile(join(cov, 'html', 'index.html'), 'utf8').catch(() => '');
  // genhtml drops the common prefix (drivers/): the index lists the profiled folders by their last part.
  t.match(index, /<a href="nvdimm\/index\.html">nvdimm<\/a>/, 'genhtml index lists nvdimm (drivers/nvdimm)');
  t.match(index, /<a href="dax\/index\.html">dax<\/a>/, 'genhtml index lists dax (drivers/dax)');
  const pages = await readdir(join(cov, 'html'), { recursive: true });
  const page = pages.find((p) => String(p).endsWith('ramdax.c.gcov.html'));
  t.ok(page, 'annotated ramdax.c page');
  const html = page ? await readFile(join(cov, 'html', String(page)), 'utf8') : '';
  t.match(html, /ramdax_register_dimm/, 'the annotated page shows the source');
  const report = await readFile(join(runDir, 'report.html'), 'utf8').catch(() => '');
  t.match(report, /<section id="coverage"><h2>Coverage<\/h2>/);
  t.match(report, /2 of 3 changed lines ran/);
  t.match(report, /href="coverage\/html\/index.html"/);
});
