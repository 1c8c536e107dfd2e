import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/fs.js';

export const SHARD_FILE = 'shard.json';

/**
 * What a sharded run folder says about its shard, for `merge`: which shard,
 * the whole plan it was cut from (every case id of the unsharded run, in run
 * order) and the cases it ran.
 */
export interface ShardRecord {
  index: number;
  total: number;
  /** Where the shard came from: `--shard 1/2`, or the CI variables of `--shard auto`. */
  source: string;
  /** `durations` (from an earlier results.json) or `count`. */
  balancedBy: 'durations' | 'count';
  harness: string;
  /** Every case id of the unsharded run, in run order. */
  planned: string[];
  /** The case ids of this shard. */
  cases: string[];
}

export async function writeShardRecord(runDir: string, r: ShardRecord): Promise<void> {
  await writeFileAtomic(join(runDir, SHARD_FILE), `${JSON.stringify(r, null, 2)}\n`);
}

/** undefined when the folder is not a shard (an unsharded run). */
export async function readShardRecord(runDir: string): Promise<ShardRecord | undefined> {
  const text = await readFile(join(runDir, SHARD_FILE), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as ShardRecord);
}
