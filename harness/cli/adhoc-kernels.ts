import { join } from 'node:path';
import type { Logger } from '../common/log.js';
import { patchLabel } from '../kbuild/patch-series.js';
import { kernelRoot, writeManifest, type KernelArtifact } from '../setup/artifacts.js';
import { ensureKernel } from '../setup/kernels.js';
import type { AdhocKernel } from './kernel-ref.js';
import { buildFromSource } from './source-builder.js';

/**
 * Build (tree, patched) or import (bzImage) the kernels given on the command
 * line, each cached by content like a kernels/*.yaml kernel; its
 * current.json says it came from the command line (gc may drop it when
 * unused). Returns the artifacts by name.
 */
export async function ensureAdhocKernels(adhoc: readonly AdhocKernel[], cacheDir: string, log: Logger, opts: { qemu?: string } = {}): Promise<Map<string, KernelArtifact>> {
  const out = new Map<string, KernelArtifact>();
  for (const k of adhoc) {
    const started = Date.now();
    log.step(`kernel ${k.name}: ${k.describe}`);
    for (const p of k.patches) log.info(`  patch ${patchLabel(p)}: ${p.subject} (sha256 ${p.sha256.slice(0, 12)}${p.patchId ? `, patch-id ${p.patchId.slice(0, 12)}` : ''})`);
    const { artifact, cached } = await ensureKernel(k.def, cacheDir, log, { ...opts, buildSource: buildFromSource });
    const a: KernelArtifact = { ...artifact, name: k.name, adhoc: { ref: k.ref, kind: k.kind } };
    await writeManifest(join(kernelRoot(cacheDir, k.name), 'current.json'), a);
    log.info(`  kernel ${k.name}: ${a.release}, vmlinuz sha256 ${a.sha256.vmlinuz?.slice(0, 12) ?? '?'}${cached ? ' (cached)' : ''}, ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    out.set(k.name, a);
  }
  return out;
}
