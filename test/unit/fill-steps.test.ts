/**
 * The fill and verify steps against a fake guest: what they run in which
 * order, what they remember for later steps, and the failures they report
 * (a wrong block named by offset, a label area named by DIMM). The real
 * thing runs in test/integration/data-integrity.test.ts.
 */
import t from 'tap';
import { deflateSync } from 'node:zlib';
import { fillStep } from '../../harness/steps/fill.js';
import { namespaceStep } from '../../harness/steps/namespace.js';
import { verifyStep } from '../../harness/steps/verify.js';
import type { CommandResult, Guest, IntegrityState, NamespaceInfo, StepContext } from '../../harness/steps/types.js';

const M = 1024 ** 2;

type Reply = Partial<Omit<CommandResult, 'command'>>;

/** A guest with one 64 MiB raw namespace, a label area per DIMM and a scripted fill tool. */
class FakeGuest implements Guest {
  readonly log: string[] = [];
  labels = new Map([['nmem0', Buffer.alloc(128 * 1024)]]);
  /** What the tool prints for a verify (default: all blocks good). */
  verifyOut?: (blocks: number) => string;
  /** Called on every tool run: lets a test change the label area "during" a write. */
  onTool?: (op: string) => void;
  mounted = '';
  listed = [{ dev: 'namespace0.0', mode: 'raw', size: 64 * M, uuid: 'u-1', blockdev: 'pmem0' }];

  async exec(command: string, opts: { timeoutMs: number; stdin?: string }): Promise<CommandResult> {
    this.log.push(command);
    const r = this.reply(command, opts.stdin);
    return { command, exitCode: 0, stdout: '', stderr: '', durationMs: 1, timedOut: false, ...r };
  }

  /** Jobs of every tool run, in order. */
  readonly runs: { op: string; dev?: string; segments?: [number, number, number][] }[][] = [];

  private reply(c: string, stdin?: string): Reply {
    if (c.startsWith('awk -v d=')) return { stdout: `${this.mounted ? `mounted ${this.mounted}\n` : ''}size ${64 * M}\n` };
    if (c === 'ndctl list -N') return { stdout: JSON.stringify(this.listed) };
    if (c.startsWith('cat /sys/bus/nd/devices/ndbus') || c.startsWith('sleep ')) return {};
    if (c.startsWith('echo "$(cat /sys/bus/nd/devices/namespace0.0/resource')) return { stdout: '0x100000000\n\n\n' };
    if (c.startsWith('python3 - ')) {
      if (!stdin?.includes('RDXFILL')) return { exitCode: 1, stderr: 'no script on stdin' };
      const { jobs } = JSON.parse(c.slice('python3 - '.length).replace(/^'|'$/g, '').replaceAll(`'\\''`, "'")) as { jobs: { op: string; dev?: string; segments?: [number, number, number][] }[] };
      this.runs.push(jobs);
      let out = '';
      for (const [job, j] of jobs.entries()) {
        this.onTool?.(j.op);
        if (j.op === 'labels') {
          for (const [dimm, b] of this.labels) out += `${JSON.stringify({ job, event: 'labels', dimm, size: b.length, enc: 'zlib', data: deflateSync(b).toString('base64') })}\n`;
          continue;
        }
        const blocks = j.segments!.reduce((n, [a, b]) => n + b - a, 0);
        out += `{"job":${job},"event":"start","op":"${j.op}","dev":"${j.dev}","size":${64 * M},"blocks":${blocks},"bs":4096}\n`;
        if (j.op === 'verify' && this.verifyOut) out += this.verifyOut(blocks).replaceAll('{"event"', `{"job":${job},"event"`);
        else out += `{"job":${job},"event":"done","op":"${j.op}","blocks":${blocks},"bytes":${blocks * 4096},"bad":0,"ranges":[],"moreRanges":0,"seconds":0.5}\n`;
      }
      return { stdout: out };
    }
    return { exitCode: 127, stderr: `fake guest has no reply for: ${c}` };
  }
}

function ctxOf(guest: Guest, integrity: IntegrityState = {}, namespaces?: Map<string, NamespaceInfo>): StepContext {
  return {
    guest,
    namespaces: namespaces ?? new Map([['pm', { dev: 'namespace0.0', mode: 'raw', size: 64 * M, uuid: 'u-1', blockdev: 'pmem0' }]]),
    carveOuts: [{ size: 1024 * M, start: 4096 * M }],
    kernel: { release: '7.2.13+deb14-amd64', ramdax: 'module' },
    timeoutMs: 10_000,
    integrity,
    stepName: 'fill pm',
  };
}

const fill = (v: unknown) => fillStep.schema.parse(v);
const verify = (v: unknown) => verifyStep.schema.parse(v);

const MOVED =
  '{"event":"bad","block":1234,"offset":5054464,"seed":1,"diffBytes":508,"firstDiff":32,"lastDiff":4082,"got":"4d00","want":"d204","found":{"kind":"block","name":"pm","seed":1,"block":77,"offset":315392,"tag":1,"intact":true}}\n';
const doneBad = (blocks: number, bad: number, ranges: string) => `{"event":"done","op":"verify","blocks":${blocks},"bytes":${blocks * 4096},"bad":${bad},"ranges":${ranges},"moreRanges":0,"seconds":0.5}\n`;

t.test('fill: labels read before and after, the pattern written, read back, and remembered', async (t) => {
  const g = new FakeGuest();
  const integrity: IntegrityState = {};
  const ctx = ctxOf(g, integrity);
  const out = await fillStep.run(ctx, fill({ namespace: 'pm', seed: 7 }));
  t.equal(out.status, 'pass', out.reason ?? 'passes');
  t.same(g.log.map((c) => c.split(' ')[0]), ['awk', 'python3'], 'one probe of the device, one tool run');
  t.same(g.runs[0]!.map((j) => j.op), ['labels', 'write', 'labels', 'verify'], 'labels, write, labels, read back');
  t.same(g.runs[0]![1], { op: 'write', dev: '/dev/pmem0', dax: false, bs: 4096, name: 'pm', tag: (g.runs[0]![1] as unknown as { tag: number }).tag, segments: [[0, 16384, 7]] });
  t.same(ctx.namespaces.get('pm')!.fill?.layers, [{ first: 0, end: 16384, seed: 7, by: "'fill pm'" }]);
  t.ok(integrity.labels?.snapshot.get('nmem0'), 'the label areas are the baseline for the next data step');
  t.equal(integrity.labels?.by, "'fill pm'");
  t.same(out.metrics?.map((m) => [m.name, m.unit, m.median]), [['fill:write', 'MiB/s', 128], ['fill:verify', 'MiB/s', 128]]);
});

t.test('fill edges: two layers, the first and last block', async (t) => {
  const g = new FakeGuest();
  const ctx = ctxOf(g);
  await fillStep.run(ctx, fill({ namespace: 'pm' }));
  const out = await fillStep.run(ctx, fill({ namespace: 'pm', seed: 2, extent: 'edges' }));
  t.equal(out.status, 'pass', out.reason ?? 'passes');
  t.same(g.runs[1]!.map((j) => [j.op, j.segments]), [['labels', undefined], ['write', [[0, 1, 2], [16383, 16384, 2]]], ['labels', undefined], ['verify', [[0, 1, 2], [1, 16383, 1], [16383, 16384, 2]]]], 'writes the edges, verifies the newest seed of every block');
});

t.test('fill: a wrong block fails the step naming the namespace, block, offset and physical address', async (t) => {
  const g = new FakeGuest();
  g.verifyOut = (blocks) => MOVED + doneBad(blocks, 1, '[[1234,1235]]');
  const out = await fillStep.run(ctxOf(g), fill({ namespace: 'pm' }));
  t.equal(out.status, 'fail');
  t.equal(out.reason, "namespace 'pm' (namespace0.0, /dev/pmem0): 1 of 16384 blocks wrong after the write: block 1234 at offset 0x4d2000 (phys 0x1004d2000) holds the data of block 77 (offset 0x4d000)");
  const v = (out.details?.verified as { bad: number; badBlocks: unknown[] }[])[0]!;
  t.equal(v.bad, 1);
  t.equal(v.badBlocks.length, 1, 'the wrong blocks are kept in the result');
});

t.test('fill: a label area that changes during the write fails the step naming the DIMM', async (t) => {
  const g = new FakeGuest();
  g.labels.set('nmem1', Buffer.alloc(128 * 1024));
  g.onTool = (op) => {
    if (op === 'write') g.labels.get('nmem1')![0x1000] = 0x42;
  };
  const out = await fillStep.run(ctxOf(g), fill({ namespace: 'pm' }));
  t.equal(out.status, 'fail');
  t.equal(out.reason, 'label area changed while the data was written: nmem1: 1 byte changed in 1 place: 0x1000 (label area without a valid namespace index: 00 → 42)');
});

t.test('fill: refuses a mounted block device', async (t) => {
  const g = new FakeGuest();
  g.mounted = '/mnt/pmem';
  const out = await fillStep.run(ctxOf(g), fill({ namespace: 'pm' }));
  t.equal(out.status, 'fail');
  t.equal(out.reason, "namespace 'pm' (pmem0) is mounted at /mnt/pmem: filling it would overwrite the file system");
  t.notOk(g.log.some((c) => c.startsWith('python3')), 'nothing written');
});

t.test('verify: label areas changed since the last data step fail it, naming the DIMM; data is still checked', async (t) => {
  const g = new FakeGuest();
  const integrity: IntegrityState = {};
  const ctx = ctxOf(g, integrity);
  t.equal((await fillStep.run(ctx, fill({ namespace: 'pm' }))).status, 'pass');
  g.labels.get('nmem0')![0x20] = 0x55; // e.g. read-labels, flip a byte, write-labels in a `run` step
  const out = await verifyStep.run({ ...ctx, stepName: 'verify pm' }, verify({ namespace: 'pm' }));
  t.equal(out.status, 'fail');
  t.equal(out.reason, "label area changed since 'fill pm', with no namespace step in between: nmem0: 1 byte changed in 1 place: 0x20 (label area without a valid namespace index: 00 → 55)");
  t.same(g.runs.at(-1)!.map((j) => j.op), ['labels', 'verify'], 'the data was verified too');
});

t.test('verify: a namespace step in between starts a new label baseline', async (t) => {
  const g = new FakeGuest();
  const integrity: IntegrityState = {};
  const ctx = ctxOf(g, integrity);
  await fillStep.run(ctx, fill({ namespace: 'pm' }));
  // A namespace step (here one that fails at once: ndctl is not scripted) drops the baseline before it runs.
  await namespaceStep.run(ctx, namespaceStep.schema.parse({ mode: 'raw', size: '16M' }));
  t.equal(integrity.labels, undefined);
  g.labels.get('nmem0')![0x20] = 0x55;
  const out = await verifyStep.run(ctx, verify({ namespace: 'pm' }));
  t.equal(out.status, 'pass', out.reason ?? 'passes');
});

t.test('verify: finds the namespace again by uuid (new device names after a reboot)', async (t) => {
  const g = new FakeGuest();
  const ctx = ctxOf(g);
  await fillStep.run(ctx, fill({ namespace: 'pm' }));
  g.listed = [{ dev: 'namespace1.0', mode: 'raw', size: 64 * M, uuid: 'u-1', blockdev: 'pmem1' }];
  const out = await verifyStep.run(ctx, verify({ namespace: 'pm' }));
  t.equal(out.status, 'pass', out.reason ?? 'passes');
  t.equal(ctx.namespaces.get('pm')!.dev, 'namespace1.0');
  t.equal(g.runs.at(-1)![1]!.dev, '/dev/pmem1');
});

t.test('verify: a namespace that did not come back fails by name and uuid', async (t) => {
  const g = new FakeGuest();
  const ctx = ctxOf(g);
  await fillStep.run(ctx, fill({ namespace: 'pm' }));
  g.listed = [];
  const out = await verifyStep.run(ctx, verify({ namespace: 'all' }));
  t.equal(out.status, 'fail');
  t.equal(out.reason, "namespace 'pm' (uuid u-1, was namespace0.0) did not come back since they were filled");
});

t.test('fill: checkpoints map to reboots the runner must allow', async (t) => {
  t.same(fillStep.reboots!(fill({ namespace: 'pm', verify: ['after-write', 'after-rebind', 'after-reboot', 'after-power-cycle', 'after-kexec'] })), ['warm', 'power-cycle', 'kexec']);
  t.same(fillStep.reboots!(fill({ namespace: 'pm' })), []);
  t.same(fill({ namespace: 'pm', verify: 'after-rebind' }).verify, ['after-rebind'], 'one checkpoint may be written without a list');
  t.equal(fillStep.title(fill({ namespace: 'pm', extent: 'edges', seed: 3, verify: ['after-write', 'after-reboot'] })), 'fill pm edges (4K each) seed 3, verify write, reboot');
  t.equal(verifyStep.title(verify({ namespace: ['a', 'b'] })), 'verify a, b');
});
