import { homedir } from 'node:os';
import { basename, join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The checkout this harness runs from (holds scenarios/, kernels/, images/): two levels up from harness/common, three from the compiled dist/harness/common. */
export const projectRoot = basename(resolve(here, '..', '..')) === 'dist' ? resolve(here, '..', '..', '..') : resolve(here, '..', '..');

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
