import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { kernelRoot, type KernelArtifact } from '../setup/artifacts.js';

/** The artifact `kernel fetch`/`build`/`setup` last made for `name`, or undefined. */
export async function cachedKernel(cacheDir: string, name: string): Promise<KernelArtifact | undefined> {
  try {
    return JSON.parse(await readFile(join(kernelRoot(cacheDir, name), 'current.json'), 'utf8')) as KernelArtifact;
  } catch {
    return undefined;
  }
}
