import type { KernelDef } from '../catalog/schema.js';
import { HarnessError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { kernelRoot, writeManifest, type KernelArtifact } from './artifacts.js';
import { capabilitiesFromConfig } from './capabilities.js';
import { ensureDebianKernel, type EnsureKernelOptions } from './debian-kernel.js';
import { ensureLocalKernel } from './local-kernel.js';

export type KernelKind = 'debian' | 'local' | 'source';
export type EnsureResult = { artifact: KernelArtifact; cached: boolean };
type Ensure = (def: KernelDef & { file: string }, cacheDir: string, log: Logger, opts: EnsureKernelOptions) => Promise<EnsureResult>;
export type KernelOptions = EnsureKernelOptions & { buildSource?: KernelBuilder };

export const kindOf = (def: KernelDef): KernelKind => (def.debian ? 'debian' : def.local ? 'local' : 'source');

/**
 * Builds a `source:` kernel (kbuild/source-kernel.ts's ensureSourceKernel).
 * setup/ sits below kbuild/ (which uses setup's artifacts and packages), so
 * the builder is handed in by the caller that may build — the CLI.
 */
export type KernelBuilder = Ensure;

async function ensureSource(def: KernelDef & { file: string }, cacheDir: string, log: Logger, opts: KernelOptions): Promise<EnsureResult> {
  if (!opts.buildSource) throw new HarnessError('infra', `kernel '${def.name}' is built from source: build it with \`ramdax-harness kernel build ${def.name}\``);
  const r = await opts.buildSource(def, cacheDir, log, opts);
  // The builder records its config; capabilities come from it, kept where the runner reads them.
  if (!r.artifact.capabilities && r.artifact.config) {
    r.artifact.capabilities = capabilitiesFromConfig(await readFile(r.artifact.config, 'utf8'), !!r.artifact.modulesDisk);
    r.artifact.kind = 'source';
    await writeManifest(join(kernelRoot(cacheDir, def.name), 'current.json'), r.artifact);
  }
  return r;
}

const ENSURE: Record<KernelKind, (def: KernelDef & { file: string }, cacheDir: string, log: Logger, opts: KernelOptions) => Promise<EnsureResult>> = {
  debian: ensureDebianKernel,
  local: ensureLocalKernel,
  source: ensureSource,
};

/** Fetch (debian), import (local) or build (source) a kernel: whatever its kind needs, cached. */
export function ensureKernel(def: KernelDef & { file: string }, cacheDir: string, log: Logger, opts: KernelOptions = {}): Promise<EnsureResult> {
  return ENSURE[kindOf(def)](def, cacheDir, log, opts);
}
