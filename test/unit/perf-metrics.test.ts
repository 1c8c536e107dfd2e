import t from 'tap';
import { readdir, stat } from 'node:fs/promises';
import { bootMetrics, stepMetrics } from '../../harness/perf/boot-metrics.js';
import { collect, metric, metricIdentity } from '../../harness/perf/metrics.js';
import { withRepeats } from '../../harness/matrix/repeat.js';
import { createScratchDisks, removeScratchDisks } from '../../harness/perf/scratch-disks.js';
import { diskArgs } from '../../harness/vm/qemu-args.js';
import type { Case } from '../../harness/matrix/case.js';
import { tempDir } from '../helpers/cli.js';

t.test('boot timings become one-sample metrics; stages not reached are left out', async (t) => {
  const m = bootMetrics({ kernelStartedMs: 900, initStartedMs: 5000, sshdStartedMs: 7000 });
  t.same(m.map((x) => [x.name, x.samples, x.unit, x.better]), [
    ['boot:kernel-start', [900], 'ms', 'lower'],
    ['boot:init-start', [5000], 'ms', 'lower'],
    ['boot:sshd-start', [7000], 'ms', 'lower'],
  ]);
});

t.test('setup steps get a duration metric, other steps keep only their own', async (t) => {
  t.same(stepMetrics({ kind: 'mkfs', params: { fs: 'ext4' } }, 1234, undefined)!.map((m) => [m.name, m.samples, m.key]), [['duration:mkfs', [1234], { step: 'mkfs', params: { fs: 'ext4' } }]]);
  t.equal(stepMetrics({ kind: 'run', params: {} }, 5, undefined), undefined);
  const own = metric('fio:x:bw', 'MiB/s', 'higher', [1, 2, 3], {});
  t.same(stepMetrics({ kind: 'fio', params: {} }, 5, [own]), [own]);
});

t.test('metric identity ignores key order; collect groups samples by name', async (t) => {
  t.equal(metricIdentity({ name: 'a', unit: 'ms', key: { x: 1, y: { b: 2, a: 1 } } }), metricIdentity({ name: 'a', unit: 'ms', key: { y: { a: 1, b: 2 }, x: 1 } }));
  t.not(metricIdentity({ name: 'a', unit: 'ms', key: { x: 1 } }), metricIdentity({ name: 'a', unit: 'ms', key: { x: 2 } }));
  const c = collect([{ name: 'a', unit: 'ms', better: 'lower', value: 1 }, { name: 'b', unit: 'ms', better: 'lower', value: 5 }, { name: 'a', unit: 'ms', better: 'lower', value: 3 }], { k: 1 });
  t.same(c.map((m) => [m.name, m.samples, m.median]), [['a', [1, 3], 2], ['b', [5], 5]]);
});

t.test('scratch disks: sparse files in the case folder, with serials, removed after', async (t) => {
  const dir = await tempDir('ramdax-scratch-');
  const disks = await createScratchDisks(dir, [{ size: 1024 ** 3 }]);
  const st = await stat(disks[0]!.path);
  t.equal(st.size, 1024 ** 3, 'apparent size as asked');
  t.ok(st.blocks * 512 < 1024 ** 2, 'sparse: no blocks allocated');
  t.same(diskArgs(disks), ['-drive', `file=${disks[0]!.path},format=raw,if=none,id=disk0,cache=none`, '-device', 'virtio-blk-pci,drive=disk0,serial=scratch0,addr=0x18']);
  await removeScratchDisks(disks);
  t.same(await readdir(dir), []);
});

t.test('--repeat overrides scenario and step repeats of fio/bench steps only', async (t) => {
  const c = { id: 'x', scenario: { repeats: 3, steps: [{ index: 0, kind: 'fio', name: 'f', timeoutMs: 1, params: { repeats: 2, rw: 'read' } }, { index: 1, kind: 'run', name: 'r', timeoutMs: 1, params: { command: 'true' } }] } } as unknown as Case;
  const [r] = withRepeats([c], 7);
  t.equal(r!.scenario.repeats, 7);
  t.same(r!.scenario.steps.map((s) => s.params), [{ repeats: 7, rw: 'read' }, { command: 'true' }]);
  t.equal((c.scenario.steps[0]!.params as { repeats: number }).repeats, 2, 'the loaded case is not changed');
});
