/**
 * Coverage, the pure parts: changed lines of a patch series (numbered as in
 * the files after the series), lcov tracefile reading, patch coverage,
 * SF: relocation, the guest collection's framing, and collection into a
 * case folder through a fake guest (segments, lost counters).
 */
import t from 'tap';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { changedLines } from '../../harness/coverage/patch-lines.js';
import { figures, parseTracefile, ranges, sumTests } from '../../harness/coverage/tracefile.js';
import { patchCoverage } from '../../harness/coverage/patch-coverage.js';
import { profiledPath, relocate, testName } from '../../harness/coverage/lcov.js';
import { collectCoverage, collectScript, markLost, readCaseStatus, unframe } from '../../harness/coverage/collect.js';
import { patchComments, tapComments, attribution } from '../../harness/coverage/report.js';
import { missingCoverageTools } from '../../harness/coverage/tools.js';
import type { KernelArtifact } from '../../harness/setup/artifacts.js';
import { tempDir } from '../helpers/cli.js';

const diff = (file: string, hunks: string) => `diff --git a/${file} b/${file}
index 1111111..2222222 100644
--- a/${file}
+++ b/${file}
${hunks}`;

t.test('changed lines of one patch: + lines in the new numbering, - lines dropped', async (t) => {
  const p = diff('drivers/nvdimm/ramdax.c', `@@ -10,3 +10,4 @@ ctx
 a
-b
+B1
+B2
 c
@@ -40,2 +41,3 @@
 x
+y
 z
`);
  t.same([...changedLines([p]).get('drivers/nvdimm/ramdax.c')!].sort((a, b) => a - b), [11, 12, 42]);
});

t.test('a mail with headers, message and diffstat: only the diff counts', async (t) => {
  const mail = `From 1234 Mon Sep 17 00:00:00 2001
From: Dev <d@example.org>
Subject: [PATCH] ramdax: x

--- a note line that is not a file header
---
 drivers/nvdimm/ramdax.c | 1 +
${diff('drivers/nvdimm/ramdax.c', `@@ -5,0 +6 @@
+new line
`)}-- 
2.39.5
`;
  t.same([...changedLines([mail]).get('drivers/nvdimm/ramdax.c')!], [6]);
});

t.test('a second patch moves the first one\'s lines and may delete them', async (t) => {
  const first = diff('f.c', `@@ -20,0 +21,2 @@
+one
+two
`);
  // Two lines inserted at the top: 21, 22 → 23, 24; then line 24 ("two") replaced.
  const second = diff('f.c', `@@ -1,0 +2,2 @@
+p
+q
@@ -22 +24 @@
-two
+TWO
`);
  const got = [...changedLines([first, second]).get('f.c')!].sort((a, b) => a - b);
  t.same(got, [2, 3, 23, 24]);
  // -U0 git range diffs (no context) and a deletion-only hunk.
  const del = diff('g.c', `@@ -3,2 +2,0 @@
-gone
-gone too
`);
  t.notOk(changedLines([del]).has('g.c'), 'a pure deletion leaves no line to run');
});

t.test('renamed and deleted files', async (t) => {
  const add = diff('a.c', `@@ -1,0 +2 @@
+x
`);
  const rename = `diff --git a/a.c b/b.c
similarity index 90%
rename from a.c
rename to b.c
--- a/a.c
+++ b/b.c
@@ -1,2 +1,2 @@
-first
+FIRST
 x
`;
  const m = changedLines([add, rename]);
  t.notOk(m.has('a.c'));
  t.same([...m.get('b.c')!].sort(), [1, 2]);
  const del = `diff --git a/b.c b/b.c
deleted file mode 100644
--- a/b.c
+++ /dev/null
@@ -1,2 +0,0 @@
-FIRST
-x
`;
  t.notOk(changedLines([add, rename, del]).has('b.c'));
});

const INFO = `TN:case_a
SF:k/drivers/nvdimm/ramdax.c
FN:27,ramdax_remove
FN:213,ramdax_probe_of
FNDA:2,ramdax_remove
FNDA:0,ramdax_probe_of
FNF:2
FNH:1
BRDA:44,0,0,0
BRDA:44,0,1,3
BRDA:218,0,0,-
BRDA:218,0,1,-
DA:29,2
DA:31,2
DA:44,3
DA:45,0
DA:218,0
LF:5
LH:3
end_of_record
TN:case_b
SF:k/drivers/nvdimm/ramdax.c
FN:27,ramdax_remove
FNDA:1,ramdax_remove
BRDA:44,0,0,1
DA:29,1
DA:44,1
DA:45,1
end_of_record
SF:k/drivers/dax/bus.c
DA:10,0
end_of_record
`;

t.test('tracefile: per test, summed, figures', async (t) => {
  const tf = parseTracefile(INFO);
  t.same([...tf.keys()], ['case_a', 'case_b']);
  const all = sumTests(tf);
  const r = all.get('k/drivers/nvdimm/ramdax.c')!;
  t.equal(r.lines.get(29), 3);
  t.equal(r.lines.get(45), 1);
  t.equal(r.lines.get(218), 0);
  const f = figures('ramdax.c', r);
  t.same(f.lines, { hit: 4, found: 5, percent: 80 });
  t.same(f.functions, { hit: 1, found: 2, percent: 50 });
  t.same(f.branches, { hit: 2, found: 4, percent: 50 }, 'taken 0+1 and 3: 2 of 4 ("-" never ran)');
  t.equal(ranges([218, 3, 4, 5, 9, 10]), '3-5, 9-10, 218');
  const a = attribution(INFO, new Map([['case_a', 'case A[x=1]'], ['case_b', 'case B']]));
  t.same(a['k/drivers/nvdimm/ramdax.c']!['44'], ['case A[x=1]', 'case B']);
  t.same(a['k/drivers/nvdimm/ramdax.c']!['45'], ['case B']);
  t.notOk(a['k/drivers/nvdimm/ramdax.c']!['218'], 'a line nobody ran has no case');
});

t.test('patch coverage: code lines only, not-run ranges, unprofiled files', async (t) => {
  const all = sumTests(parseTracefile(INFO));
  const changed = new Map([
    ['drivers/nvdimm/ramdax.c', new Set([29, 30, 44, 218])],
    ['drivers/dax/bus.c', new Set([10])],
    ['include/linux/libnvdimm.h', new Set([5])],
  ]);
  const p = patchCoverage(changed, all);
  t.equal(p.executable, 4);
  t.equal(p.ran, 2);
  t.equal(p.summary, '2 of 4 changed lines ran; not run: bus.c:10 ramdax.c:218; not profiled: libnvdimm.h');
  t.same(p.files.find((f) => f.file.endsWith('ramdax.c'))!.other, [30], 'line 30 is not code');
  t.match(patchComments(p).join('\n'), /ramdax\.c: 2 of 3 changed line\(s\) ran; not run: 218; 1 changed line\(s\) are not code/);
});

t.test('relocate keeps the profiled folders, renames SF: under the kernel prefix', async (t) => {
  const info = `TN:x
SF:/root/.cache/w/src/include/linux/slab.h
DA:1,1
end_of_record
SF:/root/.cache/w/src/drivers/nvdimm/ramdax.c
DA:44,3
end_of_record
SF:/root/.cache/w/obj/c/../../src/drivers/dax/bus.c
DA:2,0
end_of_record
`;
  const out = relocate(info, ['drivers/nvdimm', 'drivers/dax'], 'source-7.2-cov');
  t.notMatch(out, /slab\.h/);
  t.match(out, /^SF:source-7\.2-cov\/drivers\/nvdimm\/ramdax\.c$/m);
  t.match(out, /^SF:source-7\.2-cov\/drivers\/dax\/bus\.c$/m);
  t.equal(out.match(/end_of_record/g)!.length, 2);
  t.equal(profiledPath('drivers/dax/hmem/hmem.c', ['drivers/dax']), 'drivers/dax/hmem/hmem.c');
  t.equal(profiledPath('/x/fs/dax.c', ['drivers/dax']), undefined);
  const taken = new Set<string>();
  t.equal(testName('fsdax[fs=xfs]', taken), 'fsdax_fs_xfs');
  t.equal(testName('fsdax[fs.xfs]', taken), 'fsdax_fs_xfs_2', 'unique');
});

const kernel = { name: 'k-cov', sha256: { vmlinuz: 'abc' }, build: { gcov: { dir: '/c/gcov', objDir: '/o', srcDir: '/s', dirs: ['drivers/nvdimm'], gcno: 3 } } } as unknown as KernelArtifact;

t.test('collection into a case folder through a fake guest', async (t) => {
  const dir = await tempDir('ramdax-cov-test-');
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const payload = gzipSync(Buffer.from('not really a tar'));
  const commands: string[] = [];
  const ok = {
    exec: async (command: string) => {
      commands.push(command);
      return { command, exitCode: 0, stdout: `noise\n--- ramdax-harness gcov begin ---\n${payload.toString('base64')}\n--- ramdax-harness gcov end ---\n`, stderr: 'gcda files: 3\n', durationMs: 5, timedOut: false };
    },
  };
  await collectCoverage(ok, dir, 'before warm reboot', kernel);
  await collectCoverage(ok, dir, 'before power-off', kernel);
  t.match(commands[0]!, /cat "\$f" > "\$t\/\$f"/, 'each debugfs file is read with cat (their size reads as 0)');
  t.match(commands[0]!, /echo 1 > \/sys\/kernel\/debug\/gcov\/reset/, 'counters are reset after the copy');
  const files = (await readdir(join(dir, 'coverage'))).sort();
  t.same(files, ['01-before-warm-reboot.tar.gz', '02-before-power-off.tar.gz', 'status.json']);
  t.same(await readFile(join(dir, 'coverage', files[0]!)), payload, 'bytes survive the text channel');
  const st = (await readCaseStatus(dir))!;
  t.same(st.lost, []);
  t.equal(st.kernel?.gcov?.objDir, '/o');
  // A copy cut short (the guest died mid-way) and a dead guest: recorded as lost, no segment.
  const cut = { exec: async (command: string) => ({ command, exitCode: 0, stdout: '--- ramdax-harness gcov begin ---\nAAAA', stderr: '', durationMs: 1, timedOut: false }) };
  await collectCoverage(cut, dir, 'cut', kernel);
  await collectCoverage({ exec: async () => { throw new Error('SSH connection closed'); } }, dir, 'dead', kernel);
  await collectCoverage({ closed: 'SSH connection closed', exec: async () => { throw new Error('unreachable'); } }, dir, 'closed', kernel);
  await markLost(dir, 'panic');
  const after = (await readCaseStatus(dir))!;
  t.equal(after.segments.length, 2);
  t.equal(after.lost.length, 4);
  t.match(after.lost[0], /cut: the gcov archive was cut short/);
  t.match(after.lost[1], /dead: SSH connection closed/);
});

t.test('framing and the guest script', async (t) => {
  t.type(unframe('nothing'), Error);
  t.type(unframe('--- ramdax-harness gcov begin ---\n!!\n--- ramdax-harness gcov end ---'), Error);
  t.same(unframe('--- ramdax-harness gcov begin ---\nAQI=\n--- ramdax-harness gcov end ---'), Buffer.from([1, 2]));
  t.notMatch(collectScript(false), /reset/);
});

t.test('TAP comments say when coverage is incomplete', async (t) => {
  const fig = { hit: 1, found: 2, percent: 50 };
  const lines = tapComments(
    {
      version: 1,
      runs: ['r'],
      kernels: [{ name: 'k' }],
      files: [],
      totals: { lines: fig, functions: fig, branches: fig },
      groups: [{ name: 'ramdax.c', figures: { lines: fig, functions: fig, branches: fig } }],
      cases: [
        { id: 'a', test: 'a', segments: 1, complete: false, lost: ['the guest was gone'] },
        { id: 'b', test: 'b', segments: 0, complete: false, lost: ['boot failed: no counters'] },
      ],
      complete: false,
      ramdaxNotRun: '213-235',
    },
    '/r/coverage',
  );
  t.ok(lines.every((l) => l.startsWith('# ')));
  t.match(lines[0], /INCOMPLETE/);
  t.match(lines.join('\n'), /a: incomplete — the guest was gone/);
  t.match(lines.join('\n'), /ramdax\.c lines not run: 213-235/);
});

t.test('missing tools are named by package', async (t) => {
  t.same(await missingCoverageTools(async (b) => b !== 'genhtml'), ['lcov']);
  t.same(await missingCoverageTools(async () => true), []);
});
