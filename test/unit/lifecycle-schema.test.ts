import t from 'tap';
import type { Catalog } from '../../harness/catalog/catalog.js';
import { InputError } from '../../harness/common/errors.js';
import { scaleTimeouts, withKernelSettings } from '../../harness/matrix/kernel-settings.js';
import { checkScenario } from '../../harness/scenario/load.js';
import { YamlSource } from '../../harness/scenario/yaml-source.js';
import { stepNeeds } from '../../harness/runner/capability-gate.js';

const G = 1024 ** 3;
const catalog: Catalog = {
  kernels: new Map([['debian-7.2', { name: 'debian-7.2', file: 'kernels/debian-7.2.yaml', debian: { series: '7.2', flavour: 'amd64', suites: ['sid'], modules: true } }]]),
  images: new Map([['default', { name: 'default', file: 'images/default.yaml', suite: 'trixie', variant: 'minbase', size: 2 * G, packages: ['ndctl'] }]]),
};
const load = (steps: string) => checkScenario(YamlSource.parse('scenarios/t.yaml', `name: t\nmemmap: 1G!4G\nsteps:\n${steps}`), catalog);
function problems(steps: string): string[] {
  try {
    load(steps);
    return [];
  } catch (err) {
    if (err instanceof InputError) return err.problems.map((p) => `${p.pos.line}:${p.pos.col}: ${p.message}`);
    throw err;
  }
}

t.test('ramdax actions: bind is the default, unbind/cycle parse with their defaults', async (t) => {
  const s = load(`  - ramdax: {}
  - ramdax: { driver: nd_e820 }
  - ramdax: { action: unbind }
  - ramdax: { action: bind, expect: { namespaces: 2 } }
  - ramdax: { action: cycle, count: 20 }
  - ramdax: { action: cycle, count: 3, via: rmmod, modules: [ramdax, nd_pmem, libnvdimm], leaks: false }
  - ramdax: { action: cycle, count: 2, via: switch, check: "cmp /a /b" }
`);
  t.same(s.steps.map((x) => (x.params as { action: string }).action), ['bind', 'bind', 'unbind', 'bind', 'cycle', 'cycle', 'cycle']);
  t.same(s.steps[2]!.params, { action: 'unbind', expect: { orphanMounts: [], unbind: 'completes' } });
  t.match(s.steps[4]!.params, { via: 'unbind', modules: ['ramdax'], leaks: { warmup: 3 } });
  t.equal((s.steps[5]!.params as { leaks: unknown }).leaks, false);
  t.same(s.steps.map((x) => x.name), [
    'bind e820_pmem to ramdax',
    'bind e820_pmem to nd_e820',
    'unbind e820_pmem',
    'bind e820_pmem to ramdax',
    '20 unbind/bind cycles',
    '3 rmmod/modprobe (ramdax nd_pmem libnvdimm) cycles',
    '2 ramdax → nd_e820 → ramdax cycles',
  ]);
});

t.test('ramdax unbind with a held mapping: one of device or file, a defined namespace', async (t) => {
  t.match(problems('  - ramdax: { action: unbind, hold: { device: dd } }\n'), [/4:37: namespace 'dd' is not defined by an earlier step/]);
  t.match(problems('  - ramdax: { action: unbind, hold: {} }\n'), [/hold one of device: or file:/]);
  t.match(problems('  - ramdax: { action: unbind, hold: { device: /dev/dax0.0, file: /mnt/x } }\n'), [/hold one of device: or file:/]);
  t.same(problems('  - namespace: { mode: devdax, size: 64M, as: dd }\n  - ramdax: { action: unbind, hold: { device: dd }, expect: { holder: sigbus } }\n'), []);
  t.match(problems('  - ramdax: { action: unbind, expect: { orphanMounts: [mnt] } }\n'), [/absolute path/]);
  t.match(problems('  - ramdax: { action: cycle, count: 0 }\n'), [/count/i]);
  t.match(problems('  - ramdax: { action: cycle, count: 5, via: reboot }\n'), [/via/]);
  t.match(problems('  - ramdax: { action: explode }\n'), [/action/]);
});

t.test('race: shorthand, defaults, unknown race', async (t) => {
  const s = load('  - race: bind-vs-list\n  - race: { what: namespaces-on-two-regions, iterations: 4, size: 16M }\n');
  t.same(s.steps[0]!.params, { what: 'bind-vs-list', iterations: 8, size: 32 * 1024 ** 2, mode: 'raw' });
  t.equal(s.steps[1]!.name, 'create/destroy raw 16M namespaces on two regions at once, 4 each');
  t.match(problems('  - race: everything-at-once\n'), [/what/]);
  t.same(stepNeeds({ kind: 'race', params: { what: 'bind-vs-list' } }), ['RAMDAX']);
  t.same(stepNeeds({ kind: 'ramdax', params: { action: 'cycle', via: 'rmmod' } }), ['RAMDAX']);
});

t.test('scaleTimeouts: every deadline of a case on a slow kernel grows by the factor', async (t) => {
  const s = load('  - run: "true"\n  - name: long\n    timeout: 10m\n    run: "true"\n');
  t.equal(scaleTimeouts(s, 1), s, 'factor 1: untouched');
  const x = scaleTimeouts(s, 4);
  t.same(x.timeouts, { boot: 720_000, ssh: 240_000, step: 480_000, teardown: 120_000, silence: 360_000 });
  t.same(x.steps.map((st) => st.timeoutMs), [480_000, 2_400_000]);
  t.equal(scaleTimeouts(s, 500).steps[1]!.timeoutMs, 24 * 3_600_000, 'never beyond a day');
  t.same(s.timeouts.boot, 180_000, 'the original is not changed');
});

t.test('withKernelSettings: the kernel definition\'s arguments and deadlines', async (t) => {
  const s = load('  - run: "true"\n');
  t.equal(withKernelSettings(s, undefined), s);
  const x = withKernelSettings(s, { cmdline: ['pci=noacpi', 'kasan.fault=report'], timeoutScale: 2 });
  t.same(x.cmdline, ['pci=noacpi', 'kasan.fault=report'], 'after the scenario\'s own (none here)');
  t.equal(x.timeouts.boot, 360_000);
  t.same(withKernelSettings({ ...s, cmdline: ['pci=noacpi'] }, { cmdline: ['pci=noacpi'] }).cmdline, ['pci=noacpi'], 'not twice');
});
