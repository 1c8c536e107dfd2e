import t from 'tap';
import { judgeBindList, judgeLabels, judgeTwoRegions, parseRaceOutput } from '../../harness/steps/race.js';
import { parseSnapshot } from '../../harness/steps/nd-sysfs.js';

const M = 1024 ** 2;
const G = 1024 ** 3;

const snap = (ndctl: unknown) => parseSnapshot(`holder ramdax\nprovider ndbus1 ramdax\n--- ndctl\n${JSON.stringify(ndctl)}\n`);
const bus = (regions: unknown[]) => ({ provider: 'ramdax', dev: 'ndbus1', dimms: [{ dev: 'nmem0' }, { dev: 'nmem1' }], regions });

t.test('parseRaceOutput: operations anywhere, sections after @@', async (t) => {
  const r = parseRaceOutput('@op create a 1 0 namespace0.1 u-1\nnoise\n@op destroy a 1 0 namespace0.1\n@err libndctl: boom\n@@ after\nholder ramdax\n@@ list-3\n[]\n');
  t.same(r.ops, [
    { op: 'create', worker: 'a', iter: 1, rc: 0, words: ['namespace0.1', 'u-1'] },
    { op: 'destroy', worker: 'a', iter: 1, rc: 0, words: ['namespace0.1'] },
  ]);
  t.same(r.sections, { after: 'holder ramdax\n', 'list-3': '[]\n' });
});

t.test('judgeTwoRegions', async (t) => {
  const ops = (n: number, fail?: number) =>
    ['a', 'b'].flatMap((w) =>
      Array.from({ length: n }, (_, i) => [
        `@op create ${w} ${i + 1} ${fail === i + 1 && w === 'b' ? 1 : 0} namespace${w === 'a' ? 0 : 1}.${i + 1} ${w}-${i + 1}`,
        ...(fail === i + 1 && w === 'b' ? [] : [`@op destroy ${w} ${i + 1} 0 namespace0.${i + 1}`]),
      ]).flat(),
    );
  const free = new Map([['region0', G], ['region1', G]]);
  const clean = snap(bus([{ dev: 'region0', size: G, available_size: G }, { dev: 'region1', size: G, available_size: G }]));
  t.same(judgeTwoRegions(parseRaceOutput(ops(4).join('\n')).ops, clean, 4, free), []);
  const bad = judgeTwoRegions(parseRaceOutput(ops(4, 2).join('\n')).ops, clean, 4, free);
  t.match(bad, [/^1 operation\(s\) failed: create #2 \(b\) exit 1$/]);
  const left = snap(bus([{ dev: 'region0', size: G, available_size: G - 32 * M, namespaces: [{ dev: 'namespace0.1', mode: 'raw', size: 32 * M, uuid: 'x' }] }, { dev: 'region1', size: G, available_size: G }]));
  t.match(judgeTwoRegions(parseRaceOutput(ops(4).join('\n')).ops, left, 4, free), [/^1 namespace\(s\) left after the race: x$/, /^region0: available_size 1040187392 after the race, 1073741824 before$/]);
  const dup = ops(1).map((l) => l.replace(/ [ab]-1$/, ' same'));
  t.match(judgeTwoRegions(parseRaceOutput(dup.join('\n')).ops, clean, 1, free), ['two creates returned the same uuid']);
});

t.test('judgeLabels', async (t) => {
  const reads = (n: number, short?: number) => Array.from({ length: n }, (_, i) => `@op read r ${i + 1} 0 ${short === i + 1 ? 4096 : 131072}`);
  const creates = ['@op create c 1 0 namespace0.0 u1', '@op create c 2 0 namespace0.1 u2'];
  // As ndctl 81 prints it: an array with one object per DIMM.
  const labels = JSON.stringify([{ dev: 'nmem0', index: [{ signature: 'NAMESPACE_INDEX', seq: 1, nslot: 510 }], label: [{ uuid: 'u2', slot: 0, flags: 8 }, { uuid: 'u1', slot: 1 }, { uuid: 'u2', slot: 2 }] }]);
  t.same(judgeLabels(parseRaceOutput([...reads(5), ...creates].join('\n')).ops, labels, 2, 131072), []);
  t.match(judgeLabels(parseRaceOutput([...reads(5, 3), ...creates].join('\n')).ops, labels, 2, 131072), [/^1 of 5 label reads failed or were short: #3 exit 0, 4096 bytes/]);
  t.match(judgeLabels(parseRaceOutput([...reads(5), ...creates].join('\n')).ops, JSON.stringify([{ dev: 'nmem0', label: [{ uuid: 'u1' }] }]), 2, 131072), [/^namespace namespace0\.1 \(u2\) is not in the DIMM's labels$/]);
  t.match(judgeLabels(parseRaceOutput(creates.join('\n')).ops, labels, 2, 131072), ['the reader never ran']);
});

t.test('judgeBindList: listings seen during the race are counted by shape; a failed list or bad JSON fails', async (t) => {
  const text = ['@op unbind u 1 0', '@op bind u 1 0', '@op list l 1 0 0', '@op list l 2 0 900', '@@ list-1', '', '@@ list-2', JSON.stringify(bus([{ dev: 'region0' }]))].join('\n');
  const r = parseRaceOutput(text);
  const ok = judgeBindList(r.ops, r.sections, 1);
  t.same(ok.problems, []);
  t.same(ok.seen, { 'no bus': 1, '2 dimm(s), 1 region(s)': 1 });
  const bad = parseRaceOutput(text.replace('@op list l 2 0 900', '@op list l 2 139 900').replace(/\[?\{"provider".*$/s, '{"provider": '));
  t.match(judgeBindList(bad.ops, bad.sections, 1).problems, [/^1 of 2 ndctl list runs failed: list #2 \(l\) exit 139$/, /^ndctl list #2 printed something that is not JSON/]);
});
