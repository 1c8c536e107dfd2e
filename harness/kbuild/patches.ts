import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { HarnessError } from '../common/errors.js';
import { host } from '../common/exec.js';
import { exists } from '../common/fs.js';
import { sha256 } from '../common/hash.js';
import type { Logger } from '../common/log.js';
import { isGitTree, syncCheckout } from './git-tree.js';

export interface Patch {
  /** Absolute path of the patch file. */
  path: string;
  content: Buffer;
}

export async function readPatches(paths: readonly string[]): Promise<Patch[]> {
  const out: Patch[] = [];
  for (const path of paths) {
    const content = await readFile(path).catch((err: unknown) => {
      throw new HarnessError('input', `patch ${path} cannot be read`, { cause: err });
    });
    out.push({ path, content });
  }
  return out;
}

/**
 * `srcDir` with the patch series applied in order, never writing the user's tree.
 * A git tree is synced into one cache-owned checkout per tree
 * (CACHE/sources/checkout/KEY, see syncCheckout) and patched there: every
 * revision builds in the same place, so make recompiles only what changed.
 * A plain folder is copied once per revision and patch series
 * (CACHE/sources/patched/KEY).
 */
export async function patchedTree(
  srcDir: string,
  revision: string,
  patches: readonly Patch[],
  cacheDir: string,
  log: Logger,
): Promise<string> {
  if (await isGitTree(srcDir)) {
    const dest = join(cacheDir, 'sources', 'checkout', sha256('checkout-v1', srcDir).slice(0, 16));
    log.step(`source: checking out ${srcDir} (${revision}) in ${dest} to apply ${patches.length} patch(es)`);
    await syncCheckout(srcDir, dest);
    await applyPatches(dest, srcDir, revision, patches, log);
    return dest;
  }
  const key = sha256('patched-v1', revision, ...patches.flatMap((p) => [basename(p.path), p.content])).slice(0, 16);
  const dest = join(cacheDir, 'sources', 'patched', key);
  if (await exists(join(dest, '.ramdax-harness-patched'))) return dest;
  log.step(`source: copying ${srcDir} (${revision}) to apply ${patches.length} patch(es)`);
  const work = `${dest}.partial`;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  await host('cp', ['-a', '--reflink=auto', `${srcDir}/.`, work]);
  await applyPatches(work, srcDir, revision, patches, log);
  await writeFile(join(work, '.ramdax-harness-patched'), `${revision}\n${patches.map((p) => p.path).join('\n')}\n`);
  await rm(dest, { recursive: true, force: true });
  await rename(work, dest);
  return dest;
}

async function applyPatches(dir: string, srcDir: string, revision: string, patches: readonly Patch[], log: Logger): Promise<void> {
  for (const p of patches) {
    log.info(`  applying ${basename(p.path)}`);
    // git apply is all-or-nothing per patch and works outside a repository too.
    await host('git', ['apply', '--verbose', '--whitespace=nowarn', p.path], { cwd: dir, env: { GIT_CEILING_DIRECTORIES: join(dir, '..') } }).catch(
      (err: unknown) => {
        throw new HarnessError('infra', `patch ${p.path} does not apply to ${srcDir} (${revision})`, { cause: err, hint: 'refresh the patch against this tree' });
      },
    );
  }
}
