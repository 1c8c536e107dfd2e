import t from 'tap';
import fc from 'fast-check';
import { groupWeights, parseShard, partition, selectShard, shardFromEnv } from '../../harness/plan/shard.js';
import { planBoots } from '../../harness/plan/boot-groups.js';
import { HarnessError } from '../../harness/common/errors.js';
import type { Scenario } from '../../harness/scenario/load.js';

const base = {
  kernel: 'debian-7.2',
  image: 'default',
  machine: { type: 'pc', cpus: 2, memory: 4 * 2 ** 30, accel: 'auto' },
  memmap: [[{ size: 2 ** 30, start: 4 * 2 ** 30 }]],
  cmdline: [] as string[],
  timeouts: { boot: 120_000, ssh: 60_000 },
  retries: { boot: 1 },
  steps: [{ kind: 'ramdax' }],
};
/** A case in file `f`; cases of one file with shareBoot and equal cmdline share a boot. */
const mk = (id: string, file: string, share: boolean, cmd: string) => ({ id, scenario: { ...base, file, shareBoot: share, cmdline: [cmd] } as unknown as Scenario });

const caseList = fc
  .array(fc.record({ file: fc.integer({ min: 0, max: 4 }), share: fc.boolean(), cmd: fc.constantFrom('a', 'b') }), { minLength: 0, maxLength: 40 })
  .map((xs) => xs.map((x, i) => mk(`c${i}`, `f${x.file}.yaml`, x.share, x.cmd)));
/** Throws bad input (exit 2)? */
const badInput = (f: () => unknown): boolean => {
  try {
    f();
    return false;
  } catch (e) {
    return e instanceof HarnessError && e.kind === 'input';
  }
};
const durationsFor = (ids: string[], seed: number[]) => new Map(ids.map((id, i) => [id, seed[i % Math.max(1, seed.length)] ?? 1000]));

t.test('partition properties: union = all, no overlap, boot groups intact, deterministic', async (t) => {
  fc.assert(
    fc.property(caseList, fc.integer({ min: 1, max: 7 }), fc.option(fc.array(fc.integer({ min: 1, max: 600_000 }), { minLength: 1, maxLength: 10 })), (cases, n, seed) => {
      const durations = seed ? durationsFor(cases.map((c) => c.id), seed) : undefined;
      const shards = Array.from({ length: n }, (_, i) => selectShard(cases, { index: i + 1, total: n }, durations).map((c) => c.id));
      const all = shards.flat();
      // union = all, nothing twice
      if (all.length !== cases.length || new Set(all).size !== all.length) return false;
      if ([...all].sort().join() !== cases.map((c) => c.id).sort().join()) return false;
      // every boot group lies in exactly one shard
      for (const g of planBoots(cases)) {
        const owners = new Set(g.cases.map((c) => shards.findIndex((s) => s.includes(c.id))));
        if (owners.size !== 1) return false;
      }
      // run order kept within a shard
      for (const s of shards) {
        const pos = s.map((id) => cases.findIndex((c) => c.id === id));
        if (pos.some((p, i) => i > 0 && p < pos[i - 1]!)) return false;
      }
      // deterministic: the same inputs give the same shards (as on another machine)
      const again = Array.from({ length: n }, (_, i) => selectShard([...cases], { index: i + 1, total: n }, durations ? new Map(durations) : undefined).map((c) => c.id));
      if (JSON.stringify(again) !== JSON.stringify(shards)) return false;
      // ... even when that machine listed the cases in another order (e.g. another locale sorting the files)
      const reversed = Array.from({ length: n }, (_, i) => selectShard([...cases].reverse(), { index: i + 1, total: n }, durations).map((c) => c.id).sort());
      return JSON.stringify(reversed) === JSON.stringify(shards.map((s) => [...s].sort()));
    }),
    { numRuns: 300 },
  );
});

t.test('balanced: by count without durations, by recorded durations with them', async (t) => {
  const ten = Array.from({ length: 10 }, (_, i) => mk(`s${i}`, `f${i}.yaml`, false, 'a'));
  t.same([1, 2, 3].map((i) => selectShard(ten, { index: i, total: 3 }).length), [4, 3, 3], 'counts differ by at most one');
  // One long case and many short ones: the long one gets a shard of its own.
  const d = new Map(ten.map((c, i) => [c.id, i === 0 ? 900_000 : 100_000]));
  const s1 = selectShard(ten, { index: 1, total: 2 }, d).map((c) => c.id);
  const s2 = selectShard(ten, { index: 2, total: 2 }, d).map((c) => c.id);
  const sum = (ids: string[]) => ids.reduce((s, id) => s + d.get(id)!, 0);
  t.same(s1, ['s0'], 'the 900 s case gets a shard of its own');
  t.equal(sum(s1), 900_000);
  t.equal(sum(s2), 900_000, 'the nine 100 s cases fill the other');
  t.ok(Math.abs(sum(s1) - sum(s2)) <= 900_000, 'LPT bound: loads differ by at most the largest item');
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 50 }), fc.integer({ min: 1, max: 8 }), (w, n) => {
      const loads = partition(w, n).map((b) => b.reduce((s, i) => s + w[i]!, 0));
      return Math.max(...loads) - Math.min(...loads) <= Math.max(...w);
    }),
  );
});

t.test('group weights: a case without a recorded duration counts as the median', async (t) => {
  t.same(groupWeights([[{ id: 'a' }, { id: 'b' }], [{ id: 'c' }]]), [2, 1], 'no durations: case counts');
  t.same(groupWeights([[{ id: 'a' }, { id: 'b' }], [{ id: 'c' }]], new Map([['a', 10], ['c', 30]])), [40, 30], 'b counts as the median (30)');
});

t.test('more shards than boot groups: the extra shards are empty, not an error', async (t) => {
  const two = [mk('a', 'x.yaml', false, 'a'), mk('b', 'y.yaml', false, 'a')];
  t.same([1, 2, 3].map((i) => selectShard(two, { index: i, total: 3 }).map((c) => c.id)), [['a'], ['b'], []]);
});

t.test('parseShard: I/N or bad input', async (t) => {
  t.same(parseShard('2/4'), { index: 2, total: 4 });
  for (const bad of ['0/2', '3/2', '1/0', '2', 'a/b', '1/2/3', '-1/2', '1/1001']) t.ok(badInput(() => parseShard(bad)), bad);
});

t.test('shard from CI environment variables', async (t) => {
  t.same(shardFromEnv({ JOB_COMPLETION_INDEX: '0', RAMDAX_SHARD_TOTAL: '3' }), { index: 1, total: 3, source: 'JOB_COMPLETION_INDEX/RAMDAX_SHARD_TOTAL (Kubernetes Indexed Job)' }, 'Kubernetes index is 0-based');
  t.same(shardFromEnv({ CI_NODE_INDEX: '2', CI_NODE_TOTAL: '2' }), { index: 2, total: 2, source: 'CI_NODE_INDEX/CI_NODE_TOTAL (GitLab parallel)' }, 'GitLab index is 1-based');
  t.same(shardFromEnv({ RAMDAX_SHARD_INDEX: '1', RAMDAX_SHARD_TOTAL: '2' }), { index: 2, total: 2, source: 'RAMDAX_SHARD_INDEX/RAMDAX_SHARD_TOTAL (GitHub matrix)' }, 'GitHub strategy.job-index is 0-based');
  t.equal(shardFromEnv({ JOB_COMPLETION_INDEX: '1', RAMDAX_SHARD_TOTAL: '2', CI_NODE_INDEX: '1', CI_NODE_TOTAL: '2' }).index, 2, 'Kubernetes first');
  const bad: Record<string, string>[] = [{}, { JOB_COMPLETION_INDEX: '0' }, { CI_NODE_INDEX: '3', CI_NODE_TOTAL: '2' }, { CI_NODE_INDEX: '0', CI_NODE_TOTAL: '2' }, { RAMDAX_SHARD_INDEX: 'x', RAMDAX_SHARD_TOTAL: '2' }, { JOB_COMPLETION_INDEX: '2', RAMDAX_SHARD_TOTAL: '2' }];
  for (const env of bad) t.ok(badInput(() => shardFromEnv(env)), JSON.stringify(env));
});
