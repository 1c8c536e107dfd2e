import t from 'tap';
import { bootKey, needsRamFile, planBoots } from '../../harness/plan/boot-groups.js';
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
  shareBoot: true,
  file: 'a.yaml',
};
const sc = (over: Record<string, unknown> = {}) => ({ ...base, ...over }) as unknown as Scenario;
const c = (id: string, over: Record<string, unknown> = {}) => ({ id, scenario: sc(over) });
const ids = (cases: { id: string; scenario: Scenario }[]) => planBoots(cases).map((g) => g.cases.map((x) => x.id));

t.test('cases of one shareBoot scenario with equal boots share one', async (t) => {
  t.same(ids([c('a'), c('b'), c('c')]), [['a', 'b', 'c']]);
});

t.test('no sharing without shareBoot', async (t) => {
  t.same(ids([c('a', { shareBoot: false }), c('b', { shareBoot: false })]), [['a'], ['b']]);
});

t.test('anything the boot depends on splits the group', async (t) => {
  t.same(ids([c('a'), c('b', { cmdline: ['nokaslr'] })]), [['a'], ['b']], 'command line');
  t.same(ids([c('a'), c('b', { memmap: [[{ size: 2 ** 29, start: 4 * 2 ** 30 }]] })]), [['a'], ['b']], 'carve-outs');
  t.same(ids([c('a'), c('b', { kernel: 'debian-7.3' })]), [['a'], ['b']], 'kernel');
  t.same(ids([c('a'), c('b', { image: 'other' })]), [['a'], ['b']], 'image');
  t.same(ids([c('a'), c('b', { machine: { ...base.machine, memory: 8 * 2 ** 30 } })]), [['a'], ['b']], 'machine');
  t.same(ids([c('a'), c('b', { steps: [{ kind: 'reboot' }] })]), [['a'], ['b']], 'a rebooting case needs QEMU to reset, not exit');
});

t.test('only within one scenario file; first-appearance order kept', async (t) => {
  t.same(ids([c('a'), c('x', { file: 'b.yaml' }), c('b'), c('y', { file: 'b.yaml' })]), [['a', 'b'], ['x', 'y']]);
});

t.test('bootKey is stable and ignores the steps that do not change the boot', async (t) => {
  t.equal(bootKey(sc()), bootKey(sc({ steps: [{ kind: 'mkfs' }, { kind: 'mount' }] })));
  t.not(bootKey(sc()), bootKey(sc({ steps: [{ kind: 'reboot' }] })));
});

t.test('guest RAM in a file: asked for, or implied by a warm reboot under TCG only', async (t) => {
  const warm = sc({ steps: [{ kind: 'ramdax' }, { kind: 'reboot', params: { method: 'warm' } }] });
  t.equal(needsRamFile(warm, 'tcg'), true, 'TCG: the reset restarts QEMU on the file');
  t.equal(needsRamFile(warm, 'kvm'), false, 'KVM: the reset stays in place');
  t.equal(needsRamFile(sc({ steps: [{ kind: 'reboot', params: { method: 'kexec' } }] }), 'tcg'), false, 'kexec needs no file');
  t.equal(needsRamFile(sc(), 'tcg'), false, 'no reboot, no file');
  t.equal(needsRamFile(sc({ machine: { ...base.machine, ramFile: true } }), 'kvm'), true, 'machine.ramFile');
  const fill = sc({ steps: [{ kind: 'fill', params: { verify: ['after-write', 'after-reboot'] } }] });
  t.equal(needsRamFile(fill, 'tcg'), true, "a fill's after-reboot checkpoint is a warm reboot too");
});
