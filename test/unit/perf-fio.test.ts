import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { extractJson, parseFioJson } from '../../harness/perf/fio-json.js';
import { fioStep, fioArgv, fioKey, fioSamples, defaultLabel, type FioParams } from '../../harness/steps/fio.js';
import { benchScript, benchStep, parseBenchLine } from '../../harness/steps/bench.js';
import type { CommandResult, Guest, StepContext } from '../../harness/steps/types.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'fio');
const fixture = (n: string) => readFile(join(fixtures, n), 'utf8');
const parse = (raw: unknown) => fioStep.schema.parse(raw) as FioParams;

t.test('real fio 3.39 JSON from the guest: ext4 DAX psync sequential read 4 KiB', async (t) => {
  const r = parseFioJson(await fixture('ext4-dax-psync-read-4k.json'));
  t.equal(r.version, 'fio-3.39');
  t.equal(r.jobs.length, 1);
  t.equal(r.jobs[0]!.error, 0);
  const f = r.jobs[0]!.figures;
  t.same(f.map((x) => x.direction), ['read'], 'a read job moved only read data');
  t.equal(f[0]!.bwMiBs, 154266282 / 1024 ** 2);
  t.equal(f[0]!.iops, 37662.666667);
  t.same(f[0]!.latUs, { p50: 10.048, p99: 85.504, p99_9: 3620.864 }, 'clat percentiles in µs');
});

t.test('a verified write job: the read section is the verify pass', async (t) => {
  const r = parseFioJson(await fixture('ext4-dax-mmap-randwrite-4k-verify.json'));
  t.same(r.jobs[0]!.figures.map((x) => x.direction), ['read', 'write']);
  t.equal(r.jobs[0]!.figures[1]!.ioBytes, 16 * 1024 ** 2);
});

t.test('devdax 2 MiB random read; warnings before the JSON are skipped', async (t) => {
  const text = await fixture('devdax-randread-2m.json');
  const r = parseFioJson(`fio: some warning\n/dev/dax0.0\n${text}`);
  t.equal(r.jobs[0]!.figures[0]!.latUs.p50, 675.84);
  t.equal(extractJson('no json here'), undefined);
});

t.test('broken fio output is an error naming what is missing', async (t) => {
  t.throws(() => parseFioJson('fio: failed to open /dev/dax9.9'), /no JSON report/);
  t.throws(() => parseFioJson('{\n"jobs": [{"error": 0, "read": {"io_bytes": 4096, "bw_bytes": 1, "iops": 1}, "write": {"io_bytes": 0}}]}'), /clat_ns.percentile/);
  t.throws(() => parseFioJson('{\n"jobs": [{"error": 0, "read": {"io_bytes": "x"}}]}'), /io_bytes is not a number/);
});

t.test('fio argv is built from parameters only', async (t) => {
  const p = parse({ target: '/mnt/pmem/f', rw: 'randread', bs: '4k', ioengine: 'mmap', size: '32M', runtime: '3s' });
  t.same(fioArgv(p, '/mnt/pmem/f'), [
    'fio', '--name=harness', '--filename=/mnt/pmem/f', '--rw=randread', '--bs=4096', '--ioengine=mmap', '--size=33554432', '--runtime=3', '--time_based=1', '--output-format=json',
  ]);
  const v = parse({ target: 'dd', rw: 'write', bs: '2M', ioengine: 'dev-dax', size: '64M', verify: 'crc32c' });
  t.same(fioArgv(v, '/dev/dax0.0').slice(-4), ['--verify=crc32c', '--verify_fatal=1', '--do_verify=1', '--output-format=json']);
  t.equal(defaultLabel(v), 'write-2m-dev-dax');
});

t.test('fio parameters are checked', async (t) => {
  const bad = (raw: unknown) => fioStep.schema.safeParse(raw).success;
  t.notOk(bad({ target: '/mnt/x; rm -rf /', rw: 'read' }), 'shell characters in the target');
  t.notOk(bad({ target: '/mnt/pmem/f', rw: 'read', ioengine: 'dev-dax' }), 'dev-dax on a file');
  t.notOk(bad({ target: '/mnt/pmem/f', rw: 'write', verify: 'crc32c', runtime: '2s' }), 'verify with time_based');
  t.notOk(bad({ target: '/mnt/pmem/f', rw: 'read', verify: 'crc32c' }), 'verify on a read job');
  t.notOk(bad({ target: '/mnt/pmem/f', rw: 'trim' }), 'unknown rw');
  t.ok(bad({ target: '/dev/vdc', rw: 'randwrite', bs: '4k', direct: true }));
});

function guest(handler: (cmd: string) => Partial<CommandResult>): Guest & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    async exec(command) {
      log.push(command);
      return { command, exitCode: 0, stdout: '', stderr: '', durationMs: 1, timedOut: false, ...handler(command) };
    },
  };
}
const ctx = (g: Guest, repeats?: number): StepContext => ({ guest: g, namespaces: new Map([['dd', { dev: 'namespace0.0', mode: 'devdax', size: 1, chardev: 'dax0.0' }]]), carveOuts: [], kernel: { release: 'x', ramdax: 'module' }, timeoutMs: 10_000, repeats });

t.test('the fio step runs fio N times and records every sample as metrics', async (t) => {
  const json = await fixture('ext4-dax-psync-read-4k.json');
  const g = guest((c) => (c.startsWith('fio ') ? { stdout: json } : {}));
  const out = await fioStep.run(ctx(g, 4), parse({ target: '/mnt/pmem/f', rw: 'read', bs: '4k', runtime: '3s' }));
  t.equal(out.status, 'pass', out.reason ?? '');
  t.equal(g.log.filter((c) => c.startsWith('fio ')).length, 4, 'scenario repeats: 4 runs');
  t.equal(g.log.filter((c) => c.includes('drop_caches')).length, 4, 'caches dropped before each run');
  t.equal(g.log.at(-1), 'rm -f /mnt/pmem/f', 'the test file is removed');
  const names = out.metrics!.map((m) => m.name);
  t.same(names, ['fio:read-4k-psync:bw', 'fio:read-4k-psync:iops', 'fio:read-4k-psync:lat-p50', 'fio:read-4k-psync:lat-p99', 'fio:read-4k-psync:lat-p99.9']);
  const bw = out.metrics![0]!;
  t.equal(bw.unit, 'MiB/s');
  t.equal(bw.better, 'higher');
  t.equal(bw.samples.length, 4);
  t.equal(bw.spread, 0);
  t.equal(out.metrics![2]!.unit, 'µs');
  t.equal(out.metrics![2]!.better, 'lower');
  t.match(bw.key, { step: 'fio', rw: 'read', bs: 4096, ioengine: 'psync', target: '/mnt/pmem/f' });
});

t.test('a devdax namespace name resolves to its char device; a step repeats: wins over the scenario', async (t) => {
  const json = await fixture('devdax-randread-2m.json');
  const g = guest((c) => (c.startsWith('fio ') ? { stdout: json } : {}));
  const out = await fioStep.run(ctx(g, 5), parse({ target: 'dd', rw: 'randread', bs: '2m', ioengine: 'dev-dax', repeats: 2, dropCaches: false }));
  t.equal(out.status, 'pass', out.reason ?? '');
  t.equal(g.log.length, 2, 'two fio runs, no rm for a device');
  t.match(g.log[0], /--filename=\/dev\/dax0\.0/);
});

t.test('fio failing (verify mismatch) fails the step; samples so far are kept', async (t) => {
  const json = await fixture('ext4-dax-mmap-randwrite-4k-verify.json');
  let n = 0;
  const g = guest((c) => (c.startsWith('fio ') ? (++n === 2 ? { exitCode: 1, stdout: json.replace('"error" : 0', '"error" : 84'), stderr: 'verify: bad magic header' } : { stdout: json }) : {}));
  const out = await fioStep.run(ctx(g, 3), parse({ target: '/mnt/pmem/f', rw: 'randwrite', ioengine: 'mmap', verify: 'crc32c' }));
  t.equal(out.status, 'fail');
  t.match(out.reason, /fio run 2\/3 failed .*job error 84.*verify/);
  t.equal(out.metrics![0]!.samples.length, 1, 'the one good sample is kept');
  const none = guest((c) => (c.startsWith('fio ') ? { exitCode: 1, stderr: 'fio: file:filesetup.c: No space left' } : {}));
  const o2 = await fioStep.run(ctx(none), parse({ target: '/mnt/pmem/f', rw: 'write' }));
  t.equal(o2.status, 'fail');
  t.match(o2.reason, /no JSON report.*No space left/);
  t.equal(o2.metrics, undefined);
});

t.test('bench: guest-timed runs, before/after untimed', async (t) => {
  t.same(parseBenchLine('noise\nharness-bench 0 12345\n'), { exit: 0, ms: 12.345 });
  t.equal(parseBenchLine('harness-bench x'), undefined);
  t.match(benchScript('mkfs.ext4 -F /dev/pmem0'), /\( mkfs\.ext4 -F \/dev\/pmem0\n\) >\/tmp\/harness-bench\.out 2>&1/);
  let i = 0;
  const g = guest((c) => (c.includes('harness-bench') ? { stdout: `harness-bench 0 ${(++i) * 1000}\n` } : {}));
  const p = benchStep.schema.parse({ label: 'create-ns', command: 'ndctl create-namespace -m fsdax -s 64M', after: 'ndctl destroy-namespace -f all' });
  const out = await benchStep.run(ctx(g, 3), p);
  t.equal(out.status, 'pass', out.reason ?? '');
  t.same(out.metrics![0]!.samples, [1, 2, 3]);
  t.equal(out.metrics![0]!.name, 'bench:create-ns');
  t.equal(out.metrics![0]!.unit, 'ms');
  t.equal(g.log.filter((c) => c === 'ndctl destroy-namespace -f all').length, 3);
  const bad = guest((c) => (c.includes('harness-bench') ? { stdout: 'harness-bench 1 5000\n', stderr: 'Error: no space' } : {}));
  const o2 = await benchStep.run(ctx(bad, 3), p);
  t.equal(o2.status, 'fail');
  t.match(o2.reason, /exited 1 — Error: no space/);
});

t.test('fioSamples names and units', async (t) => {
  const s = fioSamples('x', { direction: 'read', bwMiBs: 1, iops: 2, latUs: { p50: 3, p99: 4, p99_9: 5 }, ioBytes: 1 });
  t.same(s.map((x) => [x.name, x.unit, x.value]), [['fio:x:bw', 'MiB/s', 1], ['fio:x:iops', 'IOPS', 2], ['fio:x:lat-p50', 'µs', 3], ['fio:x:lat-p99', 'µs', 4], ['fio:x:lat-p99.9', 'µs', 5]]);
});

t.test('backend: a key field of the metrics, only when given', async (t) => {
  const base = { target: '/mnt/perf/fio.dat', rw: 'read', bs: '2M', runtime: '1s' };
  t.equal(fioKey(parse({ ...base, backend: 'fsdax' }), '/mnt/perf/fio.dat').backend, 'fsdax');
  t.notOk('backend' in fioKey(parse(base), '/mnt/perf/fio.dat'), 'no backend key without the parameter (old baselines still pair)');
  t.throws(() => parse({ ...base, backend: 'page cache' }), /letters, digits/, 'a backend is one word');
});
