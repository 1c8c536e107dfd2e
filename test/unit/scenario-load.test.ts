import t, { type Test } from 'tap';
import type { Catalog } from '../../harness/catalog/catalog.js';
import { InputError } from '../../harness/common/errors.js';
import { checkScenario } from '../../harness/scenario/load.js';
import { YamlSource } from '../../harness/scenario/yaml-source.js';

const G = 1024 ** 3;
const M = 1024 ** 2;
const FILE = 'scenarios/test.yaml';

const catalog: Catalog = {
  kernels: new Map([
    ['debian-7.2', { name: 'debian-7.2', file: 'kernels/debian-7.2.yaml', debian: { series: '7.2', flavour: 'amd64', suites: ['sid'], modules: true } }],
  ]),
  images: new Map([
    ['default', { name: 'default', file: 'images/default.yaml', suite: 'trixie', variant: 'minbase', size: 2 * G, packages: ['ndctl'] }],
  ]),
};

type Problem = InputError['problems'][number];

/** The problems of a scenario text; fails the test when it loads. */
function problemsOf(tt: Test, text: string): Problem[] {
  try {
    const s = checkScenario(YamlSource.parse(FILE, text), catalog);
    tt.fail(`scenario loaded but should not: ${JSON.stringify(s.steps.map((x) => x.kind))}`);
    return [];
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    return err.problems;
  }
}

/** Exactly one problem at `line:col`, with a message matching `re`. */
function expectOne(tt: Test, text: string, line: number, col: number, re: RegExp): void {
  const ps = problemsOf(tt, text);
  tt.equal(ps.length, 1, `one problem: ${JSON.stringify(ps)}`);
  const p = ps[0];
  if (!p) return;
  tt.same(p.pos, { file: FILE, line, col }, 'position');
  tt.match(p.message, re, 'message');
}

t.test('YAML syntax error: position of the bad token', async (t) => {
  expectOne(t, 'name: x\nfoo: bar: baz\n', 2, 6, /^YAML syntax error: Nested mappings are not allowed in compact mappings/);
  expectOne(t, 'name: x\nsteps:\n\t- run: a\n', 3, 1, /^YAML syntax error: Tabs are not allowed as indentation/);
  expectOne(t, 'name: x\nsteps:\n  - run: a\n   - run: b\n', 4, 4, /^YAML syntax error: .*same column/);
});

t.test('YAML syntax error is thrown by YamlSource.parse itself, as an InputError with exit status 2', async (t) => {
  try {
    YamlSource.parse(FILE, 'name: x\nfoo: bar: baz\n');
    t.fail('no error');
  } catch (err) {
    t.ok(err instanceof InputError);
    const e = err as InputError;
    t.equal(e.exitCode, 2);
    t.match(e.message, /^scenarios\/test\.yaml:2:6: YAML syntax error: /, 'message is file:line:col: ...');
  }
});

t.test('duplicate key: position of the second key', async (t) => {
  expectOne(t, 'name: x\nsteps:\n  - run: uname -a\nname: y\n', 4, 1, /^YAML duplicate key/);
});

t.test('empty file and non-mapping document', async (t) => {
  expectOne(t, '', 1, 1, /the file is empty/);
  expectOne(t, '# only a comment\n', 1, 1, /the file is empty/);
  expectOne(t, '- a\n- b\n', 1, 1, /a scenario is a YAML mapping/);
});

t.test('unknown top-level key: position of the key', async (t) => {
  expectOne(t, 'name: x\nsteps:\n  - run: uname -a\nbogus: 1\n', 4, 1, /^unknown key 'bogus'$/);
  expectOne(t, 'name: x\nmachine:\n  type: pc\n  ram: 4G\nsteps:\n  - run: uname -a\n', 4, 3, /^unknown key 'ram' \(at machine\)$/);
});

t.test('wrong type: position of the value', async (t) => {
  expectOne(t, 'name: x\nmachine:\n  cpus: "two"\nsteps:\n  - run: uname -a\n', 3, 9, /expected number.*\(at machine\.cpus\)$/);
  expectOne(t, 'name: x\nallowUnbackedMemmap: yes please\nsteps:\n  - run: uname -a\n', 2, 22, /expected boolean.*\(at allowUnbackedMemmap\)$/);
  expectOne(t, 'name: x\nmachine: { type: isa }\nsteps:\n  - run: uname -a\n', 2, 18, /\(at machine\.type\)$/);
  expectOne(t, 'name: x\nsteps:\n  - run: true\n', 3, 10, /expected object, received boolean \(at steps\[0\]\.run\)$/);
});

t.test('missing steps and empty steps', async (t) => {
  expectOne(t, 'name: x\nsteps: []\n', 2, 8, /a scenario needs at least one step \(at steps\)/);
  const ps = problemsOf(t, 'name: x\n');
  t.equal(ps.length, 1, 'one problem');
  t.match(ps[0]?.message, /steps/, 'names the missing key');
  t.same(ps[0]?.pos, { file: FILE, line: 1, col: 1 }, 'points at the mapping that lacks it');
});

t.test('unknown step kind: position of the key', async (t) => {
  expectOne(t, 'name: x\nsteps:\n  - run: uname -a\n  - frobnicate: {}\n', 4, 5, /^unknown step kind 'frobnicate' \(known: ramdax, namespace, mkfs, mount, umount, dax-active, dax-faults, devdax-io, run, reboot, fio, bench, fill, verify, race, fault-bind\)$/);
  expectOne(t, 'name: x\nsteps:\n  - name: a step\n    frobnicate: {}\n', 4, 5, /^unknown step kind 'frobnicate'/);
});

t.test('two kinds in one step: position of the second kind', async (t) => {
  expectOne(t, 'name: x\nsteps:\n  - run: uname -a\n    mount: { device: /dev/pmem0, at: /mnt }\n', 4, 5, /^a step has exactly one kind, found run and mount$/);
});

t.test('a step without a kind, and a step that is not a mapping', async (t) => {
  expectOne(t, 'name: x\nsteps:\n  - name: hello\n', 3, 5, /^a step needs a kind/);
  expectOne(t, 'name: x\nsteps:\n  - run: uname -a\n  - 42\n', 4, 5, /^a step is a mapping with one step kind/);
});

t.test('bad size in a namespace step: position of the size value', async (t) => {
  expectOne(
    t,
    'name: x\nmemmap: 1G!4G\nsteps:\n  - ramdax: {}\n  - namespace: { mode: fsdax, size: 12X }\n',
    5,
    37,
    /^bad size '12X': write .* \(at steps\[1\]\.namespace\.size\)$/,
  );
  expectOne(
    t,
    'name: x\nmemmap: 1G!4G\nsteps:\n  - ramdax: {}\n  - namespace:\n      mode: fsdax\n      size: 1.5G\n',
    7,
    13,
    /^bad size '1\.5G'/,
  );
});

t.test('unknown key inside a step: position of the key', async (t) => {
  expectOne(t, 'name: x\nsteps:\n  - namespace: { mode: fsdax, sise: 1G }\n', 3, 31, /^unknown key 'sise' \(at steps\[0\]\.namespace\)$/);
});

t.test('namespace used before it is defined: position of the reference', async (t) => {
  expectOne(
    t,
    'name: x\nmemmap: 1G!4G\nsteps:\n  - ramdax: {}\n  - mkfs: { fs: ext4, device: pm }\n  - namespace: { mode: fsdax, size: 256M, as: pm }\n',
    5,
    31,
    /^namespace 'pm' is not defined by an earlier step/,
  );
  expectOne(
    t,
    'name: x\nmemmap: 1G!4G\nsteps:\n  - ramdax: {}\n  - namespace: { action: destroy, target: nope }\n',
    5,
    43,
    /^namespace 'nope' is not defined by an earlier step/,
  );
});

t.test('namespace defined twice: position of the second as:', async (t) => {
  expectOne(
    t,
    'name: x\nmemmap: 1G!4G\nsteps:\n  - namespace: { mode: fsdax, size: 256M, as: pm }\n  - namespace: { mode: devdax, size: 256M, as: pm }\n',
    5,
    48,
    /^namespace 'pm' is already defined by an earlier step$/,
  );
});

t.test('a namespace name can be used again after the namespace is destroyed', async (t) => {
  // At run time `namespace: {action: destroy}` removes the name (ctx.namespaces.delete), so
  // creating a namespace under the same name afterwards is valid and must load.
  const text =
    'name: x\nmemmap: 1G!4G\nsteps:\n  - namespace: { mode: fsdax, size: 256M, as: pm }\n  - namespace: { action: destroy, target: pm }\n  - namespace: { mode: devdax, size: 256M, as: pm }\n';
  let steps: string[] = [];
  let problems: string[] = [];
  try {
    steps = checkScenario(YamlSource.parse(FILE, text), catalog).steps.map((s) => s.name);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    problems = err.problems.map((p) => `${p.pos.line}:${p.pos.col}: ${p.message}`);
  }
  t.same(problems, [], 'no problems');
  t.same(steps, ['create fsdax namespace 256M as pm', 'destroy namespace pm', 'create devdax namespace 256M as pm']);
});

t.test('xfs on a namespace smaller than 300 MB: position of fs', async (t) => {
  expectOne(
    t,
    'name: x\nmemmap: 1G!4G\nsteps:\n  - ramdax: {}\n  - namespace: { mode: fsdax, size: 256M, as: pm }\n  - mkfs: { fs: xfs, device: pm }\n',
    6,
    17,
    /^mkfs\.xfs refuses file systems under 300 MB; namespace 'pm' is 268435456 bytes$/,
  );
});

t.test('xfs on a namespace of 300 MB or more, or on ext4, is fine', async (t) => {
  for (const [size, fs] of [['512M', 'xfs'], ['300000000', 'xfs'], ['256M', 'ext4']]) {
    const s = checkScenario(
      YamlSource.parse(FILE, `name: x\nmemmap: 1G!4G\nsteps:\n  - namespace: { mode: fsdax, size: ${size}, as: pm }\n  - mkfs: { fs: ${fs}, device: pm }\n`),
      catalog,
    );
    t.equal(s.steps.length, 2, `${fs} on ${size}`);
  }
});

t.test('memmap outside guest RAM: position of the memmap value', async (t) => {
  expectOne(t, 'name: x\nmachine: { memory: 3G }\nmemmap: 1G!4G\nsteps:\n  - run: uname -a\n', 3, 9, /^carve-out 1G!4G .* is not inside guest RAM .*\(set allowUnbackedMemmap: true to test exactly that\)$/);
  expectOne(t, 'name: x\nmachine: { memory: 3G }\nmemmap:\n  - 512M!1G\n  - 1G!4G\nsteps:\n  - run: uname -a\n', 5, 5, /^carve-out 1G!4G /);
  expectOne(t, 'name: x\nmachine: { type: q35, memory: 4G }\nmemmap: 1G!2G\nsteps:\n  - run: uname -a\n', 3, 9, /on 'q35'/);
});

t.test('allowUnbackedMemmap accepts a carve-out outside guest RAM', async (t) => {
  const s = checkScenario(YamlSource.parse(FILE, 'name: x\nmachine: { memory: 3G }\nallowUnbackedMemmap: true\nmemmap: 1G!4G\nsteps:\n  - run: uname -a\n'), catalog);
  t.same(s.carveOuts, [{ size: G, start: 4 * G }]);
  t.equal(s.allowUnbackedMemmap, true);
});

t.test('malformed memmap, overlapping carve-outs, memmap in cmdline', async (t) => {
  expectOne(t, 'name: x\nmemmap: 12X!4G\nsteps:\n  - run: uname -a\n', 2, 9, /^bad memmap size '12X' in '12X!4G'$/);
  // Overlap across list entries: the position of the entry that overlaps an earlier one.
  expectOne(t, 'name: x\nmachine: { memory: 8G }\nmemmap: [1G!4G, 512M!4608M]\nsteps:\n  - run: uname -a\n', 3, 17, /^memmap carve-outs overlap/);
  // Overlap inside one string: the position of that string.
  expectOne(t, 'name: x\nmachine: { memory: 8G }\nmemmap: 512M!4G,1G!4G\nsteps:\n  - run: uname -a\n', 3, 9, /^memmap carve-outs overlap/);
  const adjacent = checkScenario(YamlSource.parse(FILE, 'name: x\nmachine: { memory: 8G }\nmemmap: [512M!4G, 512M!4608M]\nsteps:\n  - run: uname -a\n'), catalog);
  t.same(adjacent.carveOuts, [{ size: 512 * M, start: 4 * G }, { size: 512 * M, start: 4608 * M }], 'adjacent carve-outs do not overlap');
  expectOne(t, 'name: x\ncmdline: [quiet, memmap=1G!4G]\nsteps:\n  - run: uname -a\n', 2, 18, /^put carve-outs in memmap:/);
});

t.test('unknown kernel and image: position of the value', async (t) => {
  expectOne(t, 'name: x\nkernel: debian-9.9\nsteps:\n  - run: uname -a\n', 2, 9, /^unknown kernel 'debian-9\.9' \(defined in kernels\/: debian-7\.2\)$/);
  expectOne(t, 'name: x\nimage: fat\nsteps:\n  - run: uname -a\n', 2, 8, /^unknown image 'fat' \(defined in images\/: default\)$/);
});

t.test('bad step timeout and bad step name', async (t) => {
  expectOne(t, 'name: x\nsteps:\n  - run: uname -a\n    timeout: forever\n', 4, 14, /^bad duration 'forever'/);
  expectOne(t, 'name: x\nsteps:\n  - run: uname -a\n    timeout: 0s\n', 4, 14, /^bad duration '0s'/);
  expectOne(t, 'name: x\nsteps:\n  - run: uname -a\n    name: "a # b"\n', 4, 11, /^a step name is a non-empty string/);
});

t.test('several problems are all reported, in file order', async (t) => {
  const ps = problemsOf(t, 'name: x\nkernel: nope\nmemmap: 12X!4G\nsteps:\n  - frob: 1\n  - mkfs: { fs: ext4, device: pm }\n');
  t.same(
    ps.map((p) => [p.pos.line, p.pos.col]),
    [
      [2, 9],
      [3, 9],
      [5, 5],
      [6, 31],
    ],
  );
});

t.test('a valid scenario loads with its steps, carve-outs and default timeouts', async (t) => {
  const text = `# comment
name: fsdax-ext4
description: fsdax on ramdax
memmap: 1G!4G
steps:
  - ramdax: {}
  - namespace: { mode: fsdax, size: 256M, align: 2M, as: pm }
  - mkfs: { fs: ext4, device: pm }
  - mount: { device: pm, at: /mnt/pmem, options: dax=always }
  - dax-active: /mnt/pmem/dax-probe
  - name: custom name
    run: echo hi
    timeout: 5s
  - umount: /mnt/pmem
  - namespace: { action: destroy, target: pm }
`;
  const s = checkScenario(YamlSource.parse(FILE, text), catalog);
  t.equal(s.name, 'fsdax-ext4');
  t.equal(s.file, FILE);
  t.equal(s.kernel, 'debian-7.2', 'default kernel');
  t.equal(s.image, 'default', 'default image');
  t.same(s.machine, { arch: 'x86_64', type: 'pc', memory: 4 * G, cpus: 2, accel: 'auto', ramFile: false, numa: false, disks: [], network: 'closed' });
  t.same(s.timeouts, { boot: 180_000, ssh: 60_000, step: 120_000, teardown: 30_000, silence: 90_000 });
  t.same(s.cmdline, []);
  t.equal(s.allowUnbackedMemmap, false);
  t.same(s.memmap, [[{ size: G, start: 4 * G }]]);
  t.same(s.carveOuts, [{ size: G, start: 4 * G }]);
  t.same(
    s.steps.map((x) => [x.index, x.kind, x.name, x.timeoutMs]),
    [
      [0, 'ramdax', 'bind e820_pmem to ramdax', 120_000],
      [1, 'namespace', 'create fsdax namespace 256M align 2M as pm', 120_000],
      [2, 'mkfs', 'mkfs.ext4 pm', 120_000],
      [3, 'mount', 'mount pm at /mnt/pmem -o dax=always', 120_000],
      [4, 'dax-active', 'DAX on /mnt/pmem/dax-probe (statx)', 120_000],
      [5, 'run', 'custom name', 5_000],
      [6, 'umount', 'umount /mnt/pmem', 120_000],
      [7, 'namespace', 'destroy namespace pm', 120_000],
    ],
  );
  t.same(s.steps[1]?.params, { action: 'create', mode: 'fsdax', size: 256 * M, align: 2 * M, as: 'pm', expect: {} });
  t.same(s.steps[4]?.params, { path: '/mnt/pmem/dax-probe', size: 2 * M, write: true, expect: true }, 'shorthand expanded with defaults');
  t.same(s.steps[5]?.params, { command: 'echo hi', expect: { exit: 0 }, tap: 'auto' });
});

t.test('scenario-level timeouts and machine are applied', async (t) => {
  const s = checkScenario(
    YamlSource.parse(
      FILE,
      'name: x\nmachine: { type: q35, memory: 8G, cpus: 4, accel: tcg }\ntimeouts: { step: 2m, boot: 10m }\nmemmap: [512M!4G, 512M!5G]\nsteps:\n  - run: uname -a\n  - run: { command: "true" }\n    timeout: 90\n',
    ),
    catalog,
  );
  t.same(s.machine, { arch: 'x86_64', type: 'q35', memory: 8 * G, cpus: 4, accel: 'tcg', ramFile: false, numa: false, disks: [], network: 'closed' });
  t.equal(s.timeouts.step, 120_000);
  t.equal(s.timeouts.boot, 600_000);
  t.equal(s.timeouts.ssh, 60_000);
  t.same(s.memmap, [[{ size: 512 * M, start: 4 * G }], [{ size: 512 * M, start: 5 * G }]]);
  t.same(s.carveOuts, [
    { size: 512 * M, start: 4 * G },
    { size: 512 * M, start: 5 * G },
  ]);
  t.same(
    s.steps.map((x) => x.timeoutMs),
    [120_000, 90_000],
  );
  t.equal(s.steps[0]?.name, 'run: uname -a');
});
