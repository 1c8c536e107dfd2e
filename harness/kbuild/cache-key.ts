import { sha256 } from '../common/hash.js';

/** What decides a built kernel: the source revision, the patches, the resolved .config, the compiler. */
export interface BuildInputs {
  revision: string;
  patches: { name: string; content: string | Buffer }[];
  config: string;
  compiler: string;
}

/** Content hash of a build: two requests with equal inputs share one cached bzImage. */
export function buildKey(i: BuildInputs): string {
  return sha256('build-v1', i.revision, ...i.patches.flatMap((p) => [p.name, p.content]), i.config, i.compiler);
}

/**
 * What a request asks for before Kconfig runs (source revision, base config,
 * fragments, patches, compiler): lets a repeated request find its build
 * without resolving the configuration again.
 */
export interface RequestInputs {
  revision: string;
  base: string;
  fragments: { name: string; content: string }[];
  patches: { name: string; content: string | Buffer }[];
  compiler: string;
}

export function requestKey(i: RequestInputs): string {
  return sha256(
    'request-v1',
    i.revision,
    i.base,
    ...i.fragments.flatMap((f) => [f.name, f.content]),
    ...i.patches.flatMap((p) => [p.name, p.content]),
    i.compiler,
  );
}

/** A cache folder name: the kernel name and the first 16 hex digits of the key. */
export const buildDirName = (name: string, key: string) => `${name}-${key.slice(0, 16)}`;
