import { homedir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout this harness runs from (holds scenarios/, kernels/, images/). */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where downloads, images and builds are cached: `$RAMDAX_HARNESS_CACHE` or ~/.cache/ramdax-harness. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.RAMDAX_HARNESS_CACHE) return resolve(env.RAMDAX_HARNESS_CACHE);
  const xdg = env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), '.cache');
  return join(xdg, 'ramdax-harness');
}

export const kernelsDir = (root = projectRoot) => join(root, 'kernels');
export const imagesDir = (root = projectRoot) => join(root, 'images');
/** Where run folders go: `$RAMDAX_HARNESS_RESULTS`, or results/ in the checkout. */
export const defaultResultsDir = (root = projectRoot) => (process.env.RAMDAX_HARNESS_RESULTS ? resolve(process.env.RAMDAX_HARNESS_RESULTS) : join(root, 'results'));
