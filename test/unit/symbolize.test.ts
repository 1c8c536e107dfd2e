// Parsing nm and addr2line output, and kernel-tree paths without the builder's folders (pure).
import t from 'tap';
import { parseAddr2line, parseNm, treePath } from '../../harness/triage/symbolize.js';

t.test('addr2line -f -i -p: one group per address, inlined callers in order', async (t) => {
  const out = [
    'memmap_init_compound at /root/.cache/ramdax-harness/sources/linux-source-7.2_7.2.13-1/tree/mm/internal.h:836',
    ' (inlined by) memmap_init_zone_device at /root/.cache/ramdax-harness/sources/linux-source-7.2_7.2.13-1/tree/mm/mm_init.c:1112 (discriminator 2)',
    '?? ??:0',
    'dev_dax_probe at ./drivers/dax/device.c:449',
  ].join('\n');
  t.same(parseAddr2line(out, '/root/.cache/ramdax-harness/sources/linux-source-7.2_7.2.13-1/tree'), [
    [
      { fn: 'memmap_init_compound', file: 'mm/internal.h', line: 836 },
      { fn: 'memmap_init_zone_device', file: 'mm/mm_init.c', line: 1112 },
    ],
    [],
    [{ fn: 'dev_dax_probe', file: 'drivers/dax/device.c', line: 449 }],
  ]);
});

t.test('treePath strips any build folder, known or not', async (t) => {
  t.equal(treePath('/build/reproducible-path/linux-7.2.13/mm/memremap.c'), 'mm/memremap.c');
  t.equal(treePath('/home/someone/src/linux/drivers/nvdimm/ramdax.c'), 'drivers/nvdimm/ramdax.c');
  t.equal(treePath('../mm/x.c'), 'mm/x.c');
  t.equal(treePath('debian/build/build_amd64_none_amd64/mm/internal.h'), 'mm/internal.h', "Debian's -dbg line tables");
  t.equal(treePath('drivers/net/x.c'), 'drivers/net/x.c');
  t.equal(treePath('/a/b/c/kernel/x.c', '/a/b/c'), 'kernel/x.c');
});

t.test('nm -S: text symbols by name, every candidate kept', async (t) => {
  const m = parseNm('ffffffff81000000 0000000000000040 T _stext\nffffffff81001000 00000000000000a0 t helper\nffffffff82001000 0000000000000030 t helper\nffffffff83000000 0000000000000010 D data\n');
  t.equal(m.get('helper')!.length, 2);
  t.equal(m.get('helper')![1]!.size, 0x30);
  t.notOk(m.has('data'), 'data symbols are not frames');
});
