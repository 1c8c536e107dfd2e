import { Option } from 'commander';
import { defaultCacheDir } from '../common/paths.js';

export const cacheOption = () =>
  new Option('--cache <dir>', 'cache folder for kernels, images, keys (env RAMDAX_HARNESS_CACHE)').default(defaultCacheDir());

/** A commander parser for a repeatable option: every value, in order. */
export const collect = (v: string, prev: string[]) => [...prev, v];
