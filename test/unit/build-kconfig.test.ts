// Fragment checking: every CONFIG_ a fragment asks for must survive olddefconfig.
import t from 'tap';
import { describeDropped, droppedRequests, parseConfig, parseFragment } from '../../harness/kbuild/kconfig-check.js';

const fragment = [
  '# comment',
  'CONFIG_RAMDAX=y',
  'CONFIG_NR_CPUS=8',
  '# CONFIG_MODULES is not set',
  'CONFIG_CMDLINE="a b"',
  '',
  'CONFIG_DEV_DAX=y',
].join('\n');

t.test('parseFragment keeps values, unset lines and line numbers', async (t) => {
  const r = parseFragment(fragment, 'f.config');
  t.same(
    r.map((x) => [x.symbol, x.value, x.line]),
    [
      ['CONFIG_RAMDAX', 'y', 2],
      ['CONFIG_NR_CPUS', '8', 3],
      ['CONFIG_MODULES', 'n', 4],
      ['CONFIG_CMDLINE', '"a b"', 5],
      ['CONFIG_DEV_DAX', 'y', 7],
    ],
  );
});

t.test('droppedRequests finds values Kconfig changed or removed', async (t) => {
  const resolved = parseConfig(['CONFIG_RAMDAX=y', 'CONFIG_NR_CPUS=64', 'CONFIG_CMDLINE="a b"', '# CONFIG_DEV_DAX is not set'].join('\n'));
  const d = droppedRequests(parseFragment(fragment, 'f.config'), resolved);
  t.same(d.map((x) => [x.symbol, x.got]), [
    ['CONFIG_NR_CPUS', '64'],
    ['CONFIG_DEV_DAX', 'n'],
  ]);
  t.match(describeDropped(d[1]!), /^f\.config:7: CONFIG_DEV_DAX=y requested, but the resolved \.config has it not set/);
});

t.test('a symbol missing from .config entirely is reported; "is not set" accepts absence', async (t) => {
  const d = droppedRequests(parseFragment('CONFIG_NOPE=y\n# CONFIG_GONE is not set\n', 'g.config'), new Map());
  t.equal(d.length, 1);
  t.match(describeDropped(d[0]!), /g\.config:1: CONFIG_NOPE=y requested, but the resolved \.config is not in it/);
});

t.test('the last fragment wins when two set the same symbol', async (t) => {
  const req = [...parseFragment('CONFIG_KASAN=y\n', 'debug.config'), ...parseFragment('# CONFIG_KASAN is not set\n', 'later.config')];
  t.same(droppedRequests(req, parseConfig('# CONFIG_KASAN is not set\n')), []);
  t.equal(droppedRequests(req, parseConfig('CONFIG_KASAN=y\n')).length, 1);
});

t.test('the shipped fragments parse; ramdax.config builds the guest stack in (=y, no modules)', async (t) => {
  const { readFile } = await import('node:fs/promises');
  const dir = new URL('../../kernels/fragments/', import.meta.url);
  const ramdax = parseFragment(await readFile(new URL('ramdax.config', dir), 'utf8'), 'ramdax.config');
  const want = ['64BIT', 'SERIAL_8250_CONSOLE', 'DEVTMPFS', 'VIRTIO_BLK', 'VIRTIO_NET', 'EXT4_FS', 'XFS_FS', 'ZONE_DEVICE', 'LIBNVDIMM', 'BLK_DEV_PMEM', 'X86_PMEM_LEGACY', 'RAMDAX', 'DEV_DAX', 'DEV_DAX_PMEM', 'FS_DAX', 'MAGIC_SYSRQ', 'FTRACE'];
  const got = new Map(ramdax.map((r) => [r.symbol.replace(/^CONFIG_/, ''), r.value]));
  for (const w of want) t.equal(got.get(w), 'y', `${w}=y`);
  t.notOk(ramdax.some((r) => r.value === 'm'), 'nothing as a module');
  t.notOk(got.has('MODULES'), 'MODULES stays off (tinyconfig)');
  for (const f of ['debug.config', 'gcov.config']) t.ok(parseFragment(await readFile(new URL(f, dir), 'utf8'), f).length > 0, `${f} has requests`);
});
