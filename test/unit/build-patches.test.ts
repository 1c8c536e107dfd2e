/**
 * Patch files as kernel developers have them (pure parts, plus reading real
 * files): git format-patch files, a b4 am mbox with a cover letter and
 * several patches, plain diffs; subjects, touched paths, bad input.
 */
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasDiff, mailSubject, splitMbox, touchedPaths, transferEncoding } from '../../harness/kbuild/patch-text.js';
import { patchLabel, readPatchSeries } from '../../harness/kbuild/patch-series.js';
import { InputError } from '../../harness/common/errors.js';
import { tempDir } from '../helpers/cli.js';

const formatPatch = (n: number, of: number, file: string, subject: string) => `From 1234567890abcdef1234567890abcdef1234567${n} Mon Sep 17 00:00:00 2001
From: Dev Eloper <dev@example.org>
Date: Tue, 1 Dec 2026 10:00:00 +0100
Subject: [PATCH ${n}/${of}] ${subject}
 continued on a folded line

Body text. A line that starts with From in prose:
>From here on it is quoted.
---
 ${file} | 2 +-
 1 file changed, 1 insertion(+), 1 deletion(-)

diff --git a/${file} b/${file}
index 1111111..2222222 100644
--- a/${file}
+++ b/${file}
@@ -1 +1 @@
-old ${n}
+new ${n}
-- 
2.47.0

`;

const cover = `From git@z Thu Jan  1 00:00:00 1970
Subject: [PATCH 0/2] ramdax: two fixes
From: Dev Eloper <dev@example.org>
Date: Tue, 01 Dec 2026 10:00:00 +0100

The cover letter has no diff.

`;
const b4 = (n: number) => formatPatch(n, 2, `drivers/nvdimm/f${n}.c`, `ramdax: fix ${n}`).replace(/^From \S+ Mon Sep 17 00:00:00 2001/, 'From git@z Thu Jan  1 00:00:00 1970');

t.test('splitMbox: b4 am mbox, format-patch --stdout, a single file, a bare diff', async (t) => {
  const mbox = cover + b4(1) + b4(2);
  const parts = splitMbox(mbox);
  t.equal(parts.length, 3, 'cover letter + 2 patches');
  t.same(parts.map((p) => p.line), [1, cover.split('\n').length, cover.split('\n').length + b4(1).split('\n').length - 1]);
  t.same(parts.map((p) => hasDiff(p.text)), [false, true, true]);
  t.equal(splitMbox(formatPatch(1, 1, 'a.c', 's') + formatPatch(2, 2, 'b.c', 't')).length, 2, 'git format-patch --stdout');
  t.equal(splitMbox(formatPatch(1, 1, 'a.c', 's')).length, 1);
  t.equal(splitMbox('--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n').length, 1, 'a bare diff is one part');
  t.equal(splitMbox('From here on we talk prose\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n').length, 1, 'a prose "From " line is not a separator');
});

t.test('mailSubject unfolds; bare diffs have none; encodings are seen', async (t) => {
  t.equal(mailSubject(formatPatch(1, 3, 'a.c', 'ramdax: fix probe')), '[PATCH 1/3] ramdax: fix probe continued on a folded line');
  t.equal(mailSubject('--- a/x\n+++ b/x\n'), undefined);
  t.equal(transferEncoding('Subject: x\nContent-Transfer-Encoding: quoted-printable\n\nbody'), 'quoted-printable');
  t.equal(transferEncoding('Subject: x\n\nContent-Transfer-Encoding: base64 in the body'), undefined, 'only headers count');
});

t.test('touchedPaths: git headers, renames, new and deleted files, plain diffs', async (t) => {
  t.same(touchedPaths(formatPatch(1, 1, 'drivers/nvdimm/ramdax.c', 's')), ['drivers/nvdimm/ramdax.c']);
  t.same(touchedPaths('diff --git a/old.c b/new.c\nsimilarity index 90%\nrename from old.c\nrename to new.c\n'), ['old.c', 'new.c']);
  t.same(touchedPaths('diff --git a/n.c b/n.c\nnew file mode 100644\n--- /dev/null\n+++ b/n.c\n@@ -0,0 +1 @@\n+x\n'), ['n.c']);
  t.same(touchedPaths('--- linux.orig/mm/a.c\t2026-01-01\n+++ linux/mm/a.c\t2026-01-02\n@@ -1 +1 @@\n-a\n+b\n'), ['mm/a.c'], 'quilt-style -p1 with timestamps');
  t.same(touchedPaths('diff --git "a/sp ace.c" "b/sp ace.c"\n'), ['sp ace.c'], 'quoted paths');
});

t.test('readPatchSeries: order, mbox patches, hashes, patch ids, labels', async (t) => {
  const dir = await tempDir('patches-');
  const single = join(dir, '0001-ramdax-fix.patch');
  const mbox = join(dir, 'v2_20261201_dev_ramdax_two_fixes.mbx');
  await writeFile(single, formatPatch(1, 1, 'drivers/nvdimm/ramdax.c', 'ramdax: fix'));
  await writeFile(mbox, cover + b4(1) + b4(2));
  const s = await readPatchSeries([mbox, single]);
  t.same(s.map((p) => [p.index, p.subject, p.paths]), [
    [1, '[PATCH 1/2] ramdax: fix 1 continued on a folded line', ['drivers/nvdimm/f1.c']],
    [2, '[PATCH 2/2] ramdax: fix 2 continued on a folded line', ['drivers/nvdimm/f2.c']],
    [1, '[PATCH 1/1] ramdax: fix continued on a folded line', ['drivers/nvdimm/ramdax.c']],
  ]);
  t.match(s[0]!.sha256, /^[0-9a-f]{64}$/);
  t.not(s[0]!.sha256, s[1]!.sha256);
  t.match(s[0]!.patchId ?? '', /^[0-9a-f]{40}$/, 'git patch-id --stable');
  t.same(s.map((p) => patchLabel(p)), ['v2_20261201_dev_ramdax_two_fixes.mbx', 'v2_20261201_dev_ramdax_two_fixes.mbx#2', '0001-ramdax-fix.patch']);
});

t.test('readPatchSeries: bad input, all problems at once, file:line:col', async (t) => {
  const dir = await tempDir('patches-');
  const prose = join(dir, 'notes.txt');
  const qp = join(dir, 'qp.eml');
  await writeFile(prose, 'just words\n');
  await writeFile(qp, `${formatPatch(1, 1, 'a.c', 's').replace('Subject:', 'Content-Transfer-Encoding: quoted-printable\nSubject:')}`);
  const escape = join(dir, 'escape.patch');
  await writeFile(escape, '--- a/../../etc/motd\n+++ b/../../etc/motd\n@@ -1 +1 @@\n-a\n+b\n');
  const err = await readPatchSeries([prose, join(dir, 'missing.patch'), qp, escape]).catch((e: unknown) => e);
  t.ok(err instanceof InputError);
  const lines = String((err as Error).message).split('\n');
  t.same(lines, [
    `${prose}:1:1: no patch in this file (no \`diff --git\` or ---/+++ hunk)`,
    `${join(dir, 'missing.patch')}:1:1: cannot read the patch (ENOENT)`,
    `${qp}:1:1: this mail is quoted-printable-encoded; save the patch decoded (b4 am, git format-patch and most mail clients' "save as patch" do)`,
    `${escape}:1:1: the patch touches '../../etc/motd', outside the kernel tree`,
  ]);
});
