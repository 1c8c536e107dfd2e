// Benchmark: a kernel developer's loop. The base kernel (source-7.2) is
// already built; a one-line ramdax.c patch the harness has never seen (a
// fresh nonce in the probe message) goes through
//   ramdax-harness run --kernel source-7.2 --patch v1.patch --quick
// and then a second version of the same patch (v2). For each it prints the
// build seconds (from the command's start to the kernel being ready: sync,
// Kconfig if needed, make, packaging) and patch-to-verdict seconds (the
// whole process, start to exit), and proves the patched kernel is what
// booted (the nonce in the guest's dmesg). Targets: build ≤ 60 s,
// patch-to-verdict ≤ 5 min.
// Usage: npx tsx bench/patch-to-verdict.ts [--kernel source-7.2] [--versions 2]
import { randomBytes } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { BIN, CACHE, flag, load, record, ROOT, sec, table, tempResults } from './harness-common.js';

const kernel = flag('kernel', 'source-7.2');
const versions = Number(flag('versions', '2'));
const nonce = randomBytes(4).toString('hex');

/** The marker line source-7.2's own patch adds to ramdax_probe(), with the nonce and version in it. */
const MARKER = '\tdev_info(dev, "ramdax-harness: test patch applied\\n");';
function patchText(v: number): string {
  const line = `\tdev_info(dev, "ramdax-harness: test patch applied (bench ${nonce} v${v})\\n");`;
  return `From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: bench <bench@ramdax-harness.invalid>
Subject: [PATCH v${v}] ramdax: bench patch ${nonce} v${v}

---
--- a/drivers/nvdimm/ramdax.c
+++ b/drivers/nvdimm/ramdax.c
@@ -261,3 +261,3 @@
 	platform_set_drvdata(pdev, nvdimm_bus);
-${MARKER}
+${line}
 
`;
}

interface Sample {
  version: number;
  buildMs: number;
  makeS?: number;
  compiled?: number;
  totalMs: number;
  exit: number;
  caseS?: number;
  booted: boolean;
}

async function once(v: number): Promise<Sample> {
  const dir = await tempResults(`ptv-v${v}`);
  const patch = join(dir, `v${v}-bench.patch`);
  await writeFile(patch, patchText(v));
  const started = Date.now();
  let readyAt: number | undefined;
  const child = execa(process.execPath, [BIN, 'run', '--kernel', kernel, '--patch', patch, '--quick', '--results', join(dir, 'results')], { cwd: ROOT, reject: false, stdout: 'pipe', stderr: 'pipe' });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    // ensureAdhocKernels says "kernel NAME: RELEASE, vmlinuz sha256 …, ready in X s" once the kernel is there.
    if (readyAt === undefined && /kernel \S+: .*ready in [\d.]+ s/.test(err)) readyAt = Date.now();
  });
  const r = await child;
  const totalMs = Date.now() - started;
  if (readyAt === undefined) throw new Error(`v${v}: the kernel never became ready (exit ${r.exitCode}):\n${err.split('\n').slice(-15).join('\n')}`);
  const runDir = join(dir, 'results', (await readdir(join(dir, 'results'))).sort().at(-1)!);
  const res = JSON.parse(await readFile(join(runDir, 'results.json'), 'utf8')) as { cases: { id: string; durationMs: number; kernel?: { name: string } }[] };
  const c = res.cases[0];
  const dmesg = c ? await readFile(join(runDir, c.id, 'dmesg.txt'), 'utf8').catch(() => '') : '';
  const name = c?.kernel?.name;
  const manifest = name ? JSON.parse(await readFile(join(CACHE, 'kernels', name, 'current.json'), 'utf8')) as { build?: { wallSeconds: number; objects: number } } : undefined;
  return {
    version: v,
    buildMs: readyAt - started,
    makeS: manifest?.build?.wallSeconds,
    compiled: manifest?.build?.objects,
    totalMs,
    exit: r.exitCode ?? -1,
    caseS: c ? c.durationMs / 1000 : undefined,
    booted: dmesg.includes(`bench ${nonce} v${v}`),
  };
}

const loadBefore = load();
// The base must be built already: this is a cache hit (or a build the figures do not count).
const base = await execa(process.execPath, [BIN, 'kernel', 'build', kernel], { cwd: ROOT, reject: false });
if (base.exitCode !== 0) throw new Error(`kernel build ${kernel} failed: ${base.stderr}`);
process.stderr.write(`base: ${base.stdout.split('\n')[0]}\n`);
const samples: Sample[] = [];
for (let v = 1; v <= versions; v++) {
  const s = await once(v);
  samples.push(s);
  process.stderr.write(`v${v}: build ${sec(s.buildMs)} (make ${s.makeS ?? '?'} s, ${s.compiled ?? '?'} C files), patch-to-verdict ${sec(s.totalMs)}, exit ${s.exit}, patched kernel booted: ${s.booted}\n`);
}
process.stdout.write(`\npatch to verdict: ${kernel} + a one-line ramdax.c patch (nonce ${nonce}), quick suite, load before ${loadBefore}, after ${load()}\n`);
process.stdout.write(
  `${table(
    ['patch', 'build (start → kernel ready)', 'make', 'C files', 'quick suite case', 'patch to verdict', 'exit', 'booted'],
    samples.map((s) => [`v${s.version}`, sec(s.buildMs), s.makeS !== undefined ? `${s.makeS} s` : '?', s.compiled ?? '?', s.caseS !== undefined ? `${s.caseS.toFixed(1)} s` : '?', sec(s.totalMs), s.exit, s.booted ? 'yes' : 'NO']),
  )}\n`,
);
const worstBuild = Math.max(...samples.map((s) => s.buildMs));
const worstTotal = Math.max(...samples.map((s) => s.totalMs));
process.stdout.write(`targets: build ≤ 60 s ${worstBuild <= 60_000 ? 'met' : 'NOT met'}; patch to verdict ≤ 5 min ${worstTotal <= 300_000 ? 'met' : 'NOT met'}\n`);
await record(
  'patch-to-verdict',
  `${kernel} + one-line ramdax.c patch, quick suite: ${samples.map((s) => `v${s.version} build ${sec(s.buildMs)} (make ${s.makeS ?? '?'} s, ${s.compiled ?? '?'} C files), verdict ${sec(s.totalMs)} (exit ${s.exit}${s.booted ? '' : ', patched kernel NOT seen in dmesg'})`).join('; ')}`,
);
