import type { KernelDef } from '../catalog/schema.js';
import { describeError, HarnessError } from '../common/errors.js';
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

export const kindOf = (def: KernelDef): KernelKind => (def.debian ? 'debian' : def.local ? 'local' : 'source');

/**
 * Source builds live in harness/build/ (owned by the source-build work):
 * it exports `ensureSourceKernel(def, cacheDir, log, opts)` shaped like
 * ensureDebianKernel. Loaded lazily so this module builds without it.
 * TODO(source kernels): import it statically once harness/build/ is merged.
 */
const SOURCE_MODULE = '../build/source-kernel.js';
async function ensureSource(def: KernelDef & { file: string }, cacheDir: string, log: Logger, opts: EnsureKernelOptions): Promise<EnsureResult> {
  let mod: { ensureSourceKernel?: Ensure };
  try {
    mod = (await import(SOURCE_MODULE)) as { ensureSourceKernel?: Ensure };
  } catch (err) {
    throw new HarnessError('infra', `kernel '${def.name}' is built from source, and this checkout has no source builder (${SOURCE_MODULE}): ${describeError(err)}`);
  }
  if (!mod.ensureSourceKernel) throw new HarnessError('infra', `${SOURCE_MODULE} does not export ensureSourceKernel`);
  const r = await mod.ensureSourceKernel(def, cacheDir, log, opts);
  // The builder records its config; capabilities come from it, kept where the runner reads them.
  if (!r.artifact.capabilities && r.artifact.config) {
    r.artifact.capabilities = capabilitiesFromConfig(await readFile(r.artifact.config, 'utf8'), !!r.artifact.modulesDisk);
    r.artifact.kind = 'source';
    await writeManifest(join(kernelRoot(cacheDir, def.name), 'current.json'), r.artifact);
  }
  return r;
}

const ENSURE: Record<KernelKind, Ensure> = { debian: ensureDebianKernel, local: ensureLocalKernel, source: ensureSource };

/** Fetch (debian), import (local) or build (source) a kernel: whatever its kind needs, cached. */
export function ensureKernel(def: KernelDef & { file: string }, cacheDir: string, log: Logger, opts: EnsureKernelOptions = {}): Promise<EnsureResult> {
  return ENSURE[kindOf(def)](def, cacheDir, log, opts);
}
