// Per-kernel outcomes (expect: { kernels: [...] }): which entry applies to a
// kernel, how points are judged on a known-bad kernel, and the last point's
// verdict — still broken, newly broken, fixed. Also the loader's checks and
// the shipped tiny-carveouts scenario's entries.
import t from 'tap';
import type { Catalog } from '../../harness/catalog/catalog.js';
import { InputError } from '../../harness/common/errors.js';
import { bareSubject, entryMatches, KnownBad, pickEntry, type KernelFacts } from '../../harness/runner/known-bad.js';
import type { PointResult } from '../../harness/model/results.js';
import { checkScenarioCases } from '../../harness/scenario/load.js';
import { YamlSource } from '../../harness/common/yaml-source.js';
import { loadCatalog } from '../../harness/catalog/catalog.js';
import { loadScenarioFile } from '../../harness/scenario/load.js';
import type { KernelOutcome } from '../../harness/scenario/schema.js';

type Point = Omit<PointResult, 'id'>;
const FIX = 'nvdimm/ramdax: skip ranges that cannot hold the label area';
const unpatched: KernelFacts = { name: 'source-7.2', release: '7.2.13', patches: ['[PATCH] ramdax: say on probe that the harness test patch is applied'] };
const patched: KernelFacts = { name: 'source-7.2-p6248e573', release: '7.2.13', patches: [unpatched.patches[0]!, `[PATCH 1/2] ${FIX}`] };
const debian: KernelFacts = { name: 'debian-7.3', release: '7.3.4+deb13-amd64', patches: [] };
const other: KernelFacts = { name: 'source-7.2-p11111111', release: '7.2.13', patches: ['[PATCH] ramdax: unrelated'] };

const entries: KernelOutcome[] = [
  { patch: FIX },
  { kernel: ['debian-7.2', 'debian-7.3', 'source-7.2*'], knownBad: 'impossible sizes', bug: 'label area underflow' },
];

const step = (name: string, status: Point['status'], reason?: string, extra: Partial<Point> = {}): Point => ({ name, kind: 'step', status, reason, durationMs: 1, ...extra });

t.test('the first entry whose conditions hold applies', async (t) => {
  t.equal(pickEntry(entries, patched)?.n, 1, 'the fix in the series: must pass');
  t.equal(pickEntry(entries, unpatched)?.n, 2, 'source-7.2 without the fix: known bad');
  t.equal(pickEntry(entries, other)?.n, 2, 'an unrelated patch on 7.2: still known bad (glob source-7.2*)');
  t.equal(pickEntry(entries, debian)?.n, 2);
  t.equal(pickEntry(entries, { name: 'debian-6.19', patches: [] }), undefined, 'no entry: the plain verdict');
  t.equal(pickEntry(undefined, unpatched), undefined);
  t.equal(pickEntry([{ knownBad: 'x' }], { name: 'anything', patches: [] })?.n, 1, 'an entry without conditions matches every kernel');
  t.ok(entryMatches({ release: '7.3.*' }, debian));
  t.notOk(entryMatches({ release: '7.3.*' }, { name: 'x', patches: [] }), 'a release condition needs a known release');
  t.notOk(entryMatches({ kernel: 'debian-7.3', release: '7.2.*' }, debian), 'every condition must hold');
  t.ok(entryMatches({ kernel: 'debian-7.?' }, debian));
  t.notOk(entryMatches({ kernel: 'source-7.2' }, patched), 'a plain name is exact, not a prefix');
  t.equal(bareSubject('[PATCH v2 1/3] [RFC] nvdimm: x'), 'nvdimm: x');
  t.ok(entryMatches({ patch: `[PATCH] ${FIX}` }, patched), 'the [PATCH] tag is ignored on both sides');
});

t.test('known bad, failing as known: the point passes, the rest are skips, the last point says still broken', async (t) => {
  const kb = new KnownBad('source-7.2', pickEntry(entries, unpatched));
  t.ok(kb.active);
  const boot = step('boot', 'pass');
  kb.judge(boot);
  t.equal(boot.status, 'pass');
  const bind = step('bind e820_pmem to ramdax', 'fail', 'region0: ndctl reports impossible sizes (size 4096, available_size -126976)');
  kb.judge(bind);
  t.equal(bind.status, 'pass');
  t.match(bind.reason, /^known bad on source-7\.2 \(label area underflow\): the point failed as known — region0: ndctl reports impossible sizes/);
  t.match(bind.details, { knownBad: { kernel: 'source-7.2', entry: 2, pattern: 'impossible sizes' } });
  const rest = step('a namespace', 'miss', 'step 1 failed as known');
  kb.judge(rest);
  t.equal(rest.status, 'skip');
  t.match(rest.reason, /not run: the case failed as known bad on source-7\.2/);
  const shutdown: Point = { name: 'shutdown', kind: 'shutdown', status: 'pass', durationMs: 1 };
  kb.judge(shutdown);
  const last = kb.finalPoint()!;
  t.equal(last.status, 'pass');
  t.equal(last.name, 'known bad on source-7.2 (label area underflow)');
  t.match(last.details, { verdict: 'still-broken' });
});

t.test('known bad, but the case passed: the last point fails (fixed?)', async (t) => {
  const kb = new KnownBad('debian-7.3', pickEntry(entries, debian));
  for (const p of [step('boot', 'pass'), step('bind', 'pass')]) kb.judge(p);
  const last = kb.finalPoint()!;
  t.equal(last.status, 'fail');
  t.match(last.reason, /the case passed on debian-7\.3, which expect\.kernels entry 2 \(kernel debian-7\.2, debian-7\.3, source-7\.2\*\) says is known bad \(\/impossible sizes\/\): fixed\?/);
  t.match(last.details, { verdict: 'fixed' });
});

t.test('known bad, failing some other way: the point stays a failure, the last point says newly broken', async (t) => {
  const kb = new KnownBad('source-7.2', pickEntry(entries, unpatched));
  const p = step('bind', 'fail', 'expected 1 DIMM(s) on the ramdax bus, ndctl shows 0');
  kb.judge(p);
  t.equal(p.status, 'fail');
  const miss = step('next', 'miss', 'step 1 failed');
  kb.judge(miss);
  t.equal(miss.status, 'miss', 'misses after an unknown failure stay misses');
  const last = kb.finalPoint()!;
  t.equal(last.status, 'fail');
  t.match(last.reason, /^newly broken: the case failed, but not as known \(\/impossible sizes\/\): bind: expected 1 DIMM/);

  const both = new KnownBad('source-7.2', pickEntry(entries, unpatched));
  both.judge(step('bind', 'fail', 'impossible sizes'));
  both.judge({ name: 'shutdown', kind: 'shutdown', status: 'fail', reason: 'kernel reported BUG', durationMs: 1 });
  t.match(both.finalPoint(), { status: 'fail', reason: /failed as known .* and also otherwise: shutdown: kernel reported BUG/ });
});

t.test('a kernel finding title can be the known failure; errors never are', async (t) => {
  const kb = new KnownBad('debian-7.2', { entry: { kernel: '*', knownBad: '^WARNING in memmap_init_compound$' }, n: 1 });
  const finding = { type: 'warning', title: 'WARNING: mm/internal.h:836 at memmap_init_compound+0x16f/0x1e0', crashTitle: 'WARNING in memmap_init_compound', context: [], lines: [] };
  const p = step('namespace devdax 256M', 'fail', 'kernel reported WARNING', { findings: [finding as never] });
  kb.judge(p);
  t.equal(p.status, 'pass');
  t.equal(kb.finalPoint()!.status, 'pass');

  const err = new KnownBad('debian-7.2', { entry: { kernel: '*', knownBad: 'impossible' }, n: 1 });
  const e = step('bind', 'error', 'ssh: connection reset (impossible)');
  err.judge(e);
  t.equal(e.status, 'error', 'a harness error is never turned into a pass');
  t.match(err.finalPoint(), { status: 'fail', reason: /^not judged: the case errored/ });
});

t.test('a must-pass entry (or none) changes nothing', async (t) => {
  const kb = new KnownBad('source-7.2-p6248e573', pickEntry(entries, patched));
  t.notOk(kb.active);
  const p = step('bind', 'fail', 'impossible sizes');
  kb.judge(p);
  t.equal(p.status, 'fail', 'with the fix the same failure is a plain failure');
  t.equal(kb.finalPoint(), undefined);
  t.equal(new KnownBad('x', undefined).finalPoint(), undefined);
});

const catalog: Catalog = {
  kernels: new Map([['debian-7.2', { name: 'debian-7.2', file: 'kernels/debian-7.2.yaml', debian: { series: '7.2', flavour: 'amd64', suites: ['sid'], modules: true } }]]),
  images: new Map([['default', { name: 'default', file: 'images/default.yaml', suite: 'trixie', variant: 'minbase', size: 2 * 1024 ** 3, packages: ['ndctl'] }]]),
};

function problems(text: string): string[] {
  try {
    checkScenarioCases(YamlSource.parse('s.yaml', text), catalog);
    return [];
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    return err.problems.map((p) => `${p.pos.line}:${p.pos.col}: ${p.message}`);
  }
}

t.test('bad input in expect.kernels is reported where it is', async (t) => {
  const head = 'name: s\nmemmap: 64M!4G\nsteps:\n  - run: uname -r\nexpect:\n  kernels:\n';
  t.match(problems(`${head}    - knownBad: 'a(b'\n`), [/^7:17: knownBad is not a valid regular expression/]);
  t.match(problems(`${head}    - knownBad: x\n    - kernel: debian-7.2\n`), [/^7:7: entry 1 has no condition, so it matches every kernel: the entries after it would never apply/]);
  t.match(problems(`${head}    - bug: something\n`), [/^7:7: an entry with neither a condition \(kernel, release, patch\) nor knownBad says nothing/]);
  t.match(problems(`${head}    - kernel: 'debian 7.2'\n`), [/^7:15: a kernel name or release glob/]);
  t.match(problems(`${head}    - kernel: debian-7.2\n      knownbad: x\n`), [/^8:7: .*knownbad/]);
  t.match(problems(`${head}    - patch: "a\\u0007b"\n`), [/^7:14: a patch subject is one line of printable text/]);
  t.match(problems(`${head.replace(/  kernels:\n$/, '  kernels: []\n')}`), [/^6:12: .*(at least|>=) ?1/i]);
  t.match(problems(`name: s\nmemmap: 64M!4G\nsteps:\n  - run: uname -r\nexpect: {}\n`), [/^5:9: expect: needs finding: or kernels:/]);
  t.same(problems(`${head}    - patch: 'x: y'\n    - kernel: [debian-7.2, 'source-7.2*']\n      knownBad: 'impossible sizes \\(size 4096'\n    - knownBad: anything\n`), [], 'a good list loads');
  t.match(problems(`name: s\nmemmap: 64M!4G\nsteps:\n  - run: uname -r\n    expect: { kernels: [{ knownBad: x }] }\n`), [/^5:13: missing required key 'finding'/, /^5:15: unknown key 'kernels'/], 'per kernel only on the case, not on a step');
});

t.test('the shipped tiny-carveouts: known bad on unpatched 7.2/7.3 for the two tiny sizes, must pass with the fix, 256K passes everywhere', async (t) => {
  const cases = await loadScenarioFile('scenarios/edge/tiny-carveouts.yaml', await loadCatalog());
  const byId = new Map(cases.map((c) => [c.id, c]));
  for (const id of ['tiny-carveouts[size=equal-128K]', 'tiny-carveouts[size=one-page-4K]']) {
    const s = byId.get(id)!;
    for (const k of [unpatched, debian, other, { ...debian, name: 'debian-7.2' }]) t.equal(pickEntry(s.expect!.kernels, k)?.entry.knownBad !== undefined, true, `${id} known bad on ${k.name}`);
    t.equal(pickEntry(s.expect!.kernels, patched)?.entry.knownBad, undefined, `${id} must pass with the fix`);
    t.equal((s.steps[0]!.params as { expect: { dimms: number } }).expect.dimms, 0, 'the fixed behaviour: no DIMM for the range');
  }
  const control = byId.get('tiny-carveouts[size=double-256K]')!;
  for (const k of [unpatched, debian, patched]) t.equal(pickEntry(control.expect!.kernels, k)?.entry.knownBad, undefined, `256K must pass on ${k.name}`);
  // The patterns match the failures seen on the unpatched kernel (source-7.2, 2026-11-30).
  const re = (id: string) => new RegExp(pickEntry(byId.get(id)!.expect!.kernels, unpatched)!.entry.knownBad!);
  t.match("bind e820_pmem to ramdax: region0: ndctl reports impossible sizes (size 4096, available_size -126976, mapping length 18446744073709424640 on nmem0): the carve-out is no larger than ramdax's label area", re('tiny-carveouts[size=one-page-4K]'));
  t.match('bind e820_pmem to ramdax: expected 0 DIMM(s) on the ramdax bus, ndctl shows 1', re('tiny-carveouts[size=equal-128K]'));
});

t.test('impossible sizes print the number ndctl printed (2^64 - 126976, not its shortest double form)', async (t) => {
  const { impossibleSizes } = await import('../../harness/steps/bind.js');
  // ndctl list -BDR on source-7.2 with memmap=4K!4G (2026-11-30), the region part.
  const reg = JSON.parse('{"dev":"region0","size":4096,"align":4096,"available_size":-126976,"mappings":[{"dimm":"nmem0","offset":0,"length":18446744073709424640,"position":0}]}');
  t.equal(impossibleSizes(reg), "region0: ndctl reports impossible sizes (size 4096, available_size -126976, mapping length 18446744073709424640 on nmem0): the carve-out is no larger than ramdax's label area");
  t.equal(impossibleSizes({ dev: 'region1', size: 262144, available_size: 131072, mappings: [{ dimm: 'nmem1', offset: 0, length: 131072 }] }), undefined);
});

t.test('the case verdict (caseStatus) over judged points: still broken passes, fixed and newly broken fail', async (t) => {
  const { caseStatus } = await import('../../harness/model/status.js');
  const run = (kernel: KernelFacts, points: Point[]) => {
    const kb = new KnownBad(kernel.name, pickEntry(entries, kernel));
    for (const p of points) kb.judge(p);
    const last = kb.finalPoint();
    return caseStatus([...points, ...(last ? [last] : [])].map((p, i) => ({ id: i + 1, ...p })));
  };
  const broken = () => [step('boot', 'pass'), step('bind', 'fail', 'region0: ndctl reports impossible sizes'), step('next', 'miss', 'step 1 failed as known'), { name: 'shutdown', kind: 'shutdown' as const, status: 'pass' as const, durationMs: 1 }];
  t.equal(run(unpatched, broken()), 'pass', 'unpatched, failing as known: still broken, exit 0');
  t.equal(run(patched, broken()), 'fail', 'with the fix the same failure fails');
  t.equal(run(unpatched, [step('boot', 'pass'), step('bind', 'pass')]), 'fail', 'unpatched but passing: fixed? fails');
  t.equal(run(patched, [step('boot', 'pass'), step('bind', 'pass')]), 'pass', 'with the fix, passing: pass');
  t.equal(run(unpatched, [step('boot', 'pass'), step('bind', 'fail', 'something else')]), 'fail', 'newly broken fails');
});

t.test('report.txt names the cases that are still broken as known', async (t) => {
  const { renderText } = await import('../../harness/report/text.js');
  const last = { id: 4, name: 'known bad on source-7.2 (ramdax binds a range not larger than its label area)', kind: 'step' as const, status: 'pass' as const, durationMs: 0, details: { verdict: 'still-broken' } };
  const c = { id: 'tiny-carveouts[size=one-page-4K]', scenario: 'tiny-carveouts', file: 'x.yaml', status: 'pass' as const, startedAt: '', durationMs: 1, boot: {}, points: [{ id: 1, name: 'boot', kind: 'boot' as const, status: 'pass' as const, durationMs: 1 }, last], files: {} };
  const text = renderText({ runId: 'R', dir: '/x', startedAt: '2026-11-30T00:00:00Z', status: 'pass', harness: { version: '0.1.0', node: 'v20' }, host: { cpu: 'x', cores: 2, loadavg: [] }, cases: [c], counts: { pass: 1, fail: 0, error: 0, miss: 0, skip: 0 } });
  t.match(text, /^known bad, still broken: tiny-carveouts\[size=one-page-4K\] — known bad on\n {2}source-7\.2 \(ramdax binds a range not larger than its label area\)$/m);
  for (const l of text.split('\n')) t.ok(l.length <= 80, `≤ 80: ${l}`);
});
