/**
 * The kernel and image a run boots, checked first (setup/verify.ts): a
 * corrupted or missing file is reported and the artifact is fetched or built
 * again — its old folder is moved aside first, and removed once the new one
 * checks out. Used before every run and by `setup`.
 */
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Catalog } from '../catalog/catalog.js';
import { infraError } from '../common/errors.js';
import { exists } from '../common/fs.js';
import type { Logger } from '../common/log.js';
import { currentImage, currentKernel, kernelRoot, type ImageArtifact, type KernelArtifact } from './artifacts.js';
import { ensureImage } from './image.js';
import { ensureKernel, type KernelBuilder } from './kernels.js';
import { keyPaths } from './keys.js';
import { checkFiles, describeBad, freshStamps, imageFiles, kernelFiles, manifestOf, recordStamps, type CheckedFile, type FileVerdict, type Stamps } from './verify.js';

export interface VerifyOptions {
  /** Hash every file in full, not only those whose size or mtime changed. */
  full: boolean;
  qemu?: string;
  /** Builds a source: kernel again (kbuild, handed in by the CLI). */
  buildSource?: KernelBuilder;
}

async function check<T extends { dir: string; stamps?: Stamps }>(a: T, files: CheckedFile[], current: string, full: boolean): Promise<{ artifact: T; verdicts: FileVerdict[] }> {
  const verdicts = await checkFiles(files, a.stamps, full);
  if (describeBad(verdicts)) return { artifact: a, verdicts };
  const stamps = await freshStamps(verdicts, a.stamps);
  if (JSON.stringify(stamps) === JSON.stringify(a.stamps ?? {})) return { artifact: a, verdicts };
  return { artifact: await recordStamps(a, stamps, [manifestOf(a.dir), current]), verdicts };
}

export async function verifiedKernel(cacheDir: string, name: string, catalog: Catalog, log: Logger, o: VerifyOptions): Promise<KernelArtifact> {
  const current = join(kernelRoot(cacheDir, name), 'current.json');
  const first = await check(await currentKernel(cacheDir, name), kernelFiles(await currentKernel(cacheDir, name)), current, o.full);
  const bad = describeBad(first.verdicts);
  if (!bad) return first.artifact;
  const def = catalog.kernels.get(name);
  if (!def) throw infraError(`kernel '${name}' in the cache is corrupted (${bad}), and kernels/ no longer defines it to fetch it again`);
  log.warn(`kernel '${name}': ${bad}: the cached copy in ${first.artifact.dir} is corrupted; ${def.source ? 'building' : 'fetching'} it again`);
  const aside = `${first.artifact.dir}.corrupt-${process.pid}-${Date.now()}`;
  await rename(first.artifact.dir, aside);
  const { artifact } = await ensureKernel(def, cacheDir, log, { qemu: o.qemu, buildSource: o.buildSource });
  const again = await check(artifact, kernelFiles(artifact), current, true);
  const still = describeBad(again.verdicts);
  if (still) throw infraError(`kernel '${name}': fetched again, and still ${still}`);
  await rm(aside, { recursive: true, force: true });
  log.info(`kernel '${name}': ${artifact.release} fetched again and verified (sha256)`);
  return again.artifact;
}

export async function verifiedImage(cacheDir: string, name: string, catalog: Catalog, log: Logger, o: VerifyOptions): Promise<ImageArtifact> {
  const current = join(cacheDir, 'images', `${name}.current.json`);
  const img = await currentImage(cacheDir, name);
  const first = await check(img, imageFiles(img), current, o.full);
  const bad = describeBad(first.verdicts);
  if (!bad) return first.artifact;
  const def = catalog.images.get(name);
  if (!def) throw infraError(`image '${name}' in the cache is corrupted (${bad}), and images/ no longer defines it to build it again`);
  log.warn(`image '${name}': ${bad}: the cached copy in ${img.dir} is corrupted; building it again`);
  const aside = `${img.dir}.corrupt-${process.pid}-${Date.now()}`;
  await rename(img.dir, aside);
  const { artifact } = await ensureImage(def, cacheDir, keyPaths(cacheDir), log);
  const again = await check(artifact, imageFiles(artifact), current, true);
  const still = describeBad(again.verdicts);
  if (still) throw infraError(`image '${name}': built again, and still ${still}`);
  await rm(aside, { recursive: true, force: true });
  log.info(`image '${name}': built again and verified (sha256)`);
  return again.artifact;
}

/** Every kernel and image these cases boot, checked once (before anything starts). */
export async function verifyForRun(cases: { scenario: { kernel: string; image: string } }[], cacheDir: string, catalog: Catalog, log: Logger, o: VerifyOptions): Promise<void> {
  // One not set up at all is left to its cases, which report it (exit 3 with the command that fixes it).
  for (const k of new Set(cases.map((c) => c.scenario.kernel))) if (await exists(join(kernelRoot(cacheDir, k), 'current.json'))) await verifiedKernel(cacheDir, k, catalog, log, o);
  for (const i of new Set(cases.map((c) => c.scenario.image))) if (await exists(join(cacheDir, 'images', `${i}.current.json`))) await verifiedImage(cacheDir, i, catalog, log, o);
}
