/**
 * `--kernel NAME|PATH`, `--patch`, `--modules`, `--kernel-config`: what each
 * resolves to and every bad combination (exit 2, before anything is built).
 * Real files in temp folders (a fake bzImage is any file with the x86 boot
 * header magic), the real catalog; the CLI for --quick and exit codes.
 */
import t from 'tap';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCatalog } from '../../harness/catalog/catalog.js';
import { resolveKernelArgs } from '../../harness/cli/kernel-ref.js';
import { HarnessError } from '../../harness/common/errors.js';
import { cli, tempDir } from '../helpers/cli.js';

const catalog = await loadCatalog();
const dir = await tempDir('kref-');
const bz = join(dir, 'bzImage');
const image = Buffer.alloc(0x400);
image.write('HdrS', 0x202, 'latin1');
await writeFile(bz, image);
const notBz = join(dir, 'notes.txt');
await writeFile(notBz, 'hello\n');
const tree = join(dir, 'linux');
await mkdir(tree);
await writeFile(join(tree, 'Makefile'), 'all:\n');
await writeFile(join(tree, 'Kconfig'), '\n');
const mods = join(dir, 'mods');
await mkdir(mods);
const fix = join(dir, '0001-fix.patch');
await writeFile(fix, 'Subject: [PATCH] fix\n\n---\ndiff --git a/drivers/nvdimm/ramdax.c b/drivers/nvdimm/ramdax.c\n--- a/drivers/nvdimm/ramdax.c\n+++ b/drivers/nvdimm/ramdax.c\n@@ -1 +1 @@\n-a\n+b\n');
const fix2 = join(dir, '0001-fix-v2.patch');
await writeFile(fix2, 'Subject: [PATCH v2] fix\n\n---\n--- a/drivers/nvdimm/ramdax.c\n+++ b/drivers/nvdimm/ramdax.c\n@@ -1 +1 @@\n-a\n+c\n');

const bad = async (p: Promise<unknown>, re: RegExp) => {
  const err = await p.then(() => undefined, (e: unknown) => e);
  t.ok(err instanceof HarnessError && err.exitCode === 2, `exit 2 (${err instanceof Error ? err.message : 'resolved'})`);
  t.match(err instanceof Error ? err.message : '', re);
};

t.test('names stay names; paths become command-line kernels', async (t) => {
  const named = await resolveKernelArgs(catalog, { kernel: ['debian-7.2'] });
  t.same(named.names, ['debian-7.2']);
  t.same(named.adhoc, []);

  const b = await resolveKernelArgs(catalog, { kernel: [bz], modules: mods, kernelConfig: notBz });
  t.match(b.names[0], /^path-bzImage-[0-9a-f]{8}$/);
  t.equal(b.adhoc[0]!.kind, 'bzimage');
  t.same(b.catalog.kernels.get(b.names[0]!)!.local, { vmlinuz: bz, modules: mods, config: notBz });
  t.equal((await resolveKernelArgs(catalog, { kernel: [bz] })).names[0], b.names[0], 'the same path gives the same name');

  const tr = await resolveKernelArgs(catalog, { kernel: [tree] });
  t.match(tr.names[0], /^tree-linux-[0-9a-f]{8}$/);
  t.same(tr.catalog.kernels.get(tr.names[0]!)!.source, { tree, base: 'tinyconfig', fragments: ['ramdax'], patches: [] });
  const withCfg = await resolveKernelArgs(catalog, { kernel: [tree], kernelConfig: notBz });
  t.equal(withCfg.catalog.kernels.get(withCfg.names[0]!)!.source!.base, notBz, '--kernel-config is the base config of a tree');
});

t.test('patches: on a named source kernel (after its own) or a tree; one name per series content', async (t) => {
  const p1 = await resolveKernelArgs(catalog, { kernel: ['source-7.2'], patch: [fix] });
  t.match(p1.names[0], /^source-7\.2-p[0-9a-f]{8}$/);
  const def = p1.catalog.kernels.get(p1.names[0]!)!;
  t.equal(def.source!.patches.length, 2, "source-7.2's marker patch, then the fix");
  t.match(def.source!.patches[0], /kernels\/patches\/0001-ramdax-harness-probe-marker\.patch$/);
  t.equal(def.source!.patches[1], fix);
  t.equal(p1.adhoc[0]!.patches[0]!.subject, '[PATCH] fix');
  const p2 = await resolveKernelArgs(catalog, { kernel: ['source-7.2'], patch: [fix2] });
  t.not(p2.names[0], p1.names[0], 'patch v2 is another kernel');
  const onTree = await resolveKernelArgs(catalog, { kernel: [tree], patch: [fix, fix2] });
  t.match(onTree.names[0], /^tree-linux-[0-9a-f]{8}-p[0-9a-f]{8}$/);
  t.same(onTree.catalog.kernels.get(onTree.names[0]!)!.source!.patches, [fix, fix2]);
});

t.test('a kernel made from the command line earlier can be named again (repro bundles)', async (t) => {
  const cache = await tempDir('kref-cache-');
  await mkdir(join(cache, 'kernels', 'tree-linux-1234abcd'), { recursive: true });
  await writeFile(join(cache, 'kernels', 'tree-linux-1234abcd', 'current.json'), JSON.stringify({ name: 'tree-linux-1234abcd', vmlinuz: '/x/vmlinuz', adhoc: { ref: '/x', kind: 'tree' } }));
  const r = await resolveKernelArgs(catalog, { kernel: ['tree-linux-1234abcd'], cacheDir: cache });
  t.same(r.names, ['tree-linux-1234abcd']);
  t.same(r.adhoc, [], 'nothing to build: the runner takes its current.json');
});

t.test('bad input: exit 2 with what is wrong', async () => {
  await bad(resolveKernelArgs(catalog, { kernel: ['nope'] }), /^--kernel nope: unknown kernel \(known: .*debian-7\.2.*\); or give the path of a bzImage or a kernel source tree$/);
  await bad(resolveKernelArgs(catalog, { kernel: ['nope'], asArgument: true }), /^unknown kernel 'nope' \(known: /);
  await bad(resolveKernelArgs(catalog, { kernel: ['./missing/bzImage'] }), /no such file or folder/);
  await bad(resolveKernelArgs(catalog, { kernel: [notBz] }), /is not a bzImage \(no x86 boot header\) and not a kernel source tree/);
  await bad(resolveKernelArgs(catalog, { kernel: [dir] }), /is a folder but not a kernel source tree/);
  await bad(resolveKernelArgs(catalog, { kernel: [], patch: [fix] }), /^--patch needs --kernel/);
  await bad(resolveKernelArgs(catalog, { kernel: ['debian-7.2'], patch: [fix] }), /kernel 'debian-7\.2' is a debian kernel; patches go on a source kernel/);
  await bad(resolveKernelArgs(catalog, { kernel: [bz], patch: [fix] }), /is a built kernel; give the kernel tree/);
  await bad(resolveKernelArgs(catalog, { kernel: ['debian-7.2'], modules: mods }), /^--modules goes with --kernel PATH-to-a-bzImage/);
  await bad(resolveKernelArgs(catalog, { kernel: [tree], modules: mods }), /^--modules goes with/);
  await bad(resolveKernelArgs(catalog, { kernel: ['source-7.2'], kernelConfig: notBz }), /^--kernel-config goes with --kernel PATH/);
  await bad(resolveKernelArgs(catalog, { kernel: [bz], modules: join(dir, 'nope') }), /^--modules .*nope: no such file or folder/);
  await bad(resolveKernelArgs(catalog, { kernel: ['source-7.2'], patch: [notBz] }), /notes\.txt:1:1: no patch in this file/);
});

t.test('CLI: list --kernel PATH --patch shows the kernel and its patches, builds nothing; --quick', async (t) => {
  const cache = await tempDir('kref-cli-');
  const list = await cli(['list', '--quick', '--kernel', 'source-7.2', '--patch', fix, '--cache', cache]);
  t.equal(list.exitCode, 0, list.stderr);
  t.match(list.stdout, /^kernel source-7\.2-p[0-9a-f]{8}: source-7\.2 \+ 1 patch\(es\)$/m);
  t.match(list.stdout, /^ {2}0001-fix\.patch: \[PATCH\] fix \(sha256 [0-9a-f]{12}, patch-id [0-9a-f]{12}\)$/m);
  t.match(list.stdout, /^ramdax-quick /m);
  t.match(list.stdout, /kernel source-7\.2-p[0-9a-f]{8}, image default/);
  const both = await cli(['run', '--quick', 'scenarios/boot-smoke.yaml', '--cache', cache]);
  t.equal(both.exitCode, 2);
  t.match(both.stderr, /give either --quick or scenario paths/);
  const info = await cli(['kernel', 'info', tree, '--patch', fix, '--cache', cache]);
  t.equal(info.exitCode, 0, info.stderr);
  t.match(info.stdout, /definition: +command line \(--kernel .*linux --patch …\)/);
  t.match(info.stdout, /patch 0001-fix\.patch: \[PATCH\] fix/);
  t.match(info.stdout, /release: +not built \(run `ramdax-harness kernel build .*linux --patch …`\)/);
  const noBz = await cli(['run', 'scenarios/boot-smoke.yaml', '--kernel', notBz, '--cache', cache, '--results', join(cache, 'r')]);
  t.equal(noBz.exitCode, 2);
  t.equal(noBz.stdout, '', 'nothing started');
});
