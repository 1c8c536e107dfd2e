// Build helpers: first compiler errors of a failed log, cache keys, make argv.
import t from 'tap';
import { buildDirName, buildKey, requestKey } from '../../harness/kbuild/cache-key.js';
import { countObjects, firstErrors, formatDuration } from '../../harness/kbuild/make-log.js';
import { makeArgs } from '../../harness/kbuild/toolchain.js';

const failedLog = `  CC      mm/slub.o
  CC      drivers/nvdimm/ramdax.o
../drivers/nvdimm/ramdax.c: In function 'ramdax_probe':
../drivers/nvdimm/ramdax.c:262:9: error: 'nope' undeclared (first use in this function)
  262 |         nope = 1;
../drivers/nvdimm/ramdax.c:262:9: note: each undeclared identifier is reported only once
make[5]: *** [../scripts/Makefile.build:287: drivers/nvdimm/ramdax.o] Error 1
make[4]: *** [../scripts/Makefile.build:544: drivers/nvdimm] Error 2
`;

t.test('firstErrors gives the compiler error with its context, not make noise', async (t) => {
  t.same(firstErrors(failedLog), [
    "../drivers/nvdimm/ramdax.c: In function 'ramdax_probe':",
    "../drivers/nvdimm/ramdax.c:262:9: error: 'nope' undeclared (first use in this function)",
  ]);
});

t.test('firstErrors falls back to make *** lines and linker errors are found', async (t) => {
  t.same(firstErrors('x\nmake: *** No rule to make target bzImage.  Stop.\n'), ['make: *** No rule to make target bzImage.  Stop.']);
  t.same(firstErrors("ld: vmlinux.o: in function `f':\nld: undefined reference to `g'\n"), ["ld: undefined reference to `g'"]);
  t.same(firstErrors(''), []);
});

t.test('countObjects counts C compiles only', async (t) => {
  t.equal(countObjects(failedLog.split('\n')), 2);
});

t.test('formatDuration', async (t) => {
  t.equal(formatDuration(4_400), '4s');
  t.equal(formatDuration(125_000), '2m05s');
});

const inputs = { revision: 'debian:linux-source-7.2=7.2.13-1', patches: [{ name: 'a.patch', content: 'x' }], config: 'CONFIG_RAMDAX=y\n', compiler: 'gcc 12.2.0' };

t.test('buildKey changes with every input and is stable otherwise', async (t) => {
  const k = buildKey(inputs);
  t.equal(buildKey({ ...inputs }), k);
  t.not(buildKey({ ...inputs, revision: 'r2' }), k);
  t.not(buildKey({ ...inputs, patches: [{ name: 'a.patch', content: 'y' }] }), k);
  t.not(buildKey({ ...inputs, patches: [] }), k);
  t.not(buildKey({ ...inputs, config: 'CONFIG_RAMDAX=m\n' }), k);
  t.not(buildKey({ ...inputs, compiler: 'gcc 13' }), k);
  t.equal(buildDirName('source-7.2', k), `source-7.2-${k.slice(0, 16)}`);
});

t.test('requestKey covers base and fragment contents', async (t) => {
  const r = { revision: 'r', base: 'tinyconfig', fragments: [{ name: 'ramdax', content: 'CONFIG_A=y' }], patches: [], compiler: 'gcc' };
  t.not(requestKey({ ...r, base: 'defconfig' }), requestKey(r));
  t.not(requestKey({ ...r, fragments: [{ name: 'ramdax', content: 'CONFIG_A=n' }] }), requestKey(r));
});

t.test('makeArgs builds out of tree with one CC for every step', async (t) => {
  t.same(makeArgs('/src', '/obj', { cc: 'ccache gcc' }, ['bzImage'], ['-j2']), ['-C', '/src', 'O=/obj', 'CC=ccache gcc', '-j2', 'bzImage']);
});
