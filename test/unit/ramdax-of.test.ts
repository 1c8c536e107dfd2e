/** The ramdax step on the device-tree path, against a fake guest shell (the real one: scenarios/arm64/, test/integration/arm64.test.ts). */
import t from 'tap';
import { ramdaxStep } from '../../harness/steps/ramdax.js';
import { LIST_BUS_PARENTS, LIST_PMEM_DEVICES, saysBound } from '../../harness/steps/ramdax-of.js';
import type { CommandResult, Guest, StepContext } from '../../harness/steps/types.js';
import { planDtb } from '../../harness/vm/dtb-plan.js';
import { parseMemmapArg, type MemmapArg } from '../../harness/scenario/memmap.js';

const G = 1024 ** 3;
const M = 1024 ** 2;

type Reply = Partial<Omit<CommandResult, 'command'>>;

/**
 * A guest with pmem-region platform devices: who holds each, what bind and
 * unbind do, what ndctl shows after a bind. `probe` decides whether a bind
 * to ramdax succeeds (the FIXME path makes it fail).
 */
class DtGuest implements Guest {
  readonly log: string[] = [];
  readonly holder = new Map<string, string>();
  constructor(
    readonly nodes: { name: string; reg: { start: number; size: number }[] }[],
    readonly o: { probe?: boolean; dyndbg?: boolean; regInKernel?: string; log7?: boolean } = {},
  ) {
    for (const n of nodes) this.holder.set(dev(n.name), '');
  }
  async exec(command: string): Promise<CommandResult> {
    this.log.push(command);
    const r = this.reply(command);
    return { command, exitCode: 0, stdout: '', stderr: '', durationMs: 1, timedOut: false, ...r };
  }
  private reply(c: string): Reply {
    if (c === LIST_PMEM_DEVICES) return { stdout: this.nodes.map((n) => `${dev(n.name)} /sys/firmware/devicetree/base/${n.name}\n`).join('') };
    let m = /^od -An -tx1 -v \/sys\/firmware\/devicetree\/base\/(\S+)\/reg$/.exec(c);
    if (m) {
      const n = this.nodes.find((x) => x.name === m![1])!;
      const hex = (v: number) => v.toString(16).padStart(16, '0').replace(/(..)/g, ' $1');
      return { stdout: this.o.regInKernel ?? `${n.reg.map((r) => `${hex(r.start)}${hex(r.size)}`).join('\n')}\n` };
    }
    if (/^modprobe /.test(c)) {
      // of_pmem takes every free device when it loads (no override set yet).
      if (c.includes('of_pmem')) for (const [d, h] of this.holder) if (!h) this.holder.set(d, 'of_pmem');
      return {};
    }
    if (c.includes('dynamic_debug')) return { stdout: this.o.dyndbg === false ? '' : 'on\n' };
    if ((m = /^basename "\$\(readlink \/sys\/bus\/platform\/devices\/(\S+)\/driver 2>\/dev\/null\)"$/.exec(c))) return { stdout: `${this.holder.get(m[1]!) || '.'}\n` };
    if (/^echo \S+ > \/sys\/bus\/platform\/devices\/\S+\/driver_override$/.test(c)) return {};
    if ((m = /^echo (\S+) > \/sys\/bus\/platform\/drivers\/(\S+)\/unbind$/.exec(c))) return (this.holder.set(m[1]!, ''), {});
    if ((m = /^echo (\S+) > \/sys\/bus\/platform\/drivers\/(\S+)\/bind$/.exec(c))) {
      if (m[2] === 'ramdax' && this.o.probe === false) return { exitCode: 1, stderr: 'sh: echo: write error: No such device or address\n' };
      return (this.holder.set(m[1]!, m[2]!), {});
    }
    if ((m = /^dmesg \| grep -F (\S+) /.exec(c))) {
      const d = m[1]!;
      const h = this.holder.get(d);
      // log7: the 7.x form (dev_dbg, the device in the prefix), as Debian 7.2.13 arm64 prints it.
      const bound = this.o.log7 ? `[  35.711354] ${h} ${d}: driver: '${h}': driver_bound: bound to device\n` : `[  9.1] driver: '${h}': driver_bound: bound to device '${d}'\n`;
      return { stdout: h ? bound : `[  9.1] ramdax ${d}: probe with driver ramdax rejects match -6\n` };
    }
    if (c === 'ndctl list -BDR') return { stdout: JSON.stringify(this.buses()) };
    if (c === LIST_BUS_PARENTS) return { stdout: this.nodes.filter((n) => this.holder.get(dev(n.name))).map((n, i) => `ndbus${i} ${dev(n.name)}\n`).join('') };
    return { exitCode: 127, stderr: `fake guest: no reply for ${c}` };
  }
  private buses() {
    let nmem = 0;
    let region = 0;
    return this.nodes
      .filter((n) => this.holder.get(dev(n.name)))
      .map((n, i) => {
        const h = this.holder.get(dev(n.name));
        const dimms = h === 'ramdax' ? n.reg.map(() => ({ dev: `nmem${nmem++}` })) : [];
        return { provider: h === 'ramdax' ? 'ramdax' : dev(n.name), dev: `ndbus${i}`, dimms, regions: n.reg.map((r) => ({ dev: `region${region++}`, size: r.size, available_size: r.size - 16 * M })) };
      });
  }
}

const dev = (node: string) => `${node.split('@')[1]}.${node.split('@')[0]}`;

function ctx(guest: Guest, memmap: string[]): StepContext {
  const mm = memmap.map((x) => parseMemmapArg(x) as MemmapArg);
  const nodes = planDtb(mm, 4 * G).plan.nodes;
  return { guest, namespaces: new Map(), carveOuts: mm.flat(), arch: 'arm64', pmemNodes: nodes, kernel: { release: '7.2.13+deb14-arm64', ramdax: 'module' }, timeoutMs: 10_000 };
}
const params = (v: unknown = {}) => ramdaxStep.schema.parse(v);
const nodesOf = (c: StepContext) => c.pmemNodes!.map((n) => ({ name: n.name, reg: n.reg }));

t.test('one node, two reg entries: taken from of_pmem, one DIMM and region per entry', async (t) => {
  const c0 = ctx(undefined as never, ['512M!4G,512M!4608M']);
  const g = new DtGuest(nodesOf(c0));
  const out = await ramdaxStep.run({ ...c0, guest: g }, params());
  t.equal(out.status, 'pass', out.reason ?? 'passed');
  t.equal(out.details?.dimms, 2);
  t.same((out.details?.regions as { size: number }[]).map((r) => r.size), [512 * M, 512 * M]);
  t.same(out.details?.bind, { '100000000.pmem': { holder: 'of_pmem', driver: 'ramdax', kernel: "driver: 'ramdax': driver_bound: bound to device '100000000.pmem'" } });
  const override = g.log.indexOf('echo ramdax > /sys/bus/platform/devices/100000000.pmem/driver_override');
  const unbind = g.log.indexOf('echo 100000000.pmem > /sys/bus/platform/drivers/of_pmem/unbind');
  const bind = g.log.indexOf('echo 100000000.pmem > /sys/bus/platform/drivers/ramdax/bind');
  t.ok(override >= 0 && unbind > override && bind > unbind, 'override, then unbind from of_pmem, then bind');
  const off = g.log.findIndex((c) => /dynamic_debug.*-p/.test(c));
  t.ok(off > bind && off < g.log.indexOf('ndctl list -BDR'), 'dynamic debug switched off again after the bind');
});

t.test('two nodes: two devices, two ramdax buses, counted per node', async (t) => {
  const c0 = ctx(undefined as never, ['512M!4G', '512M!4608M']);
  const g = new DtGuest(nodesOf(c0));
  const out = await ramdaxStep.run({ ...c0, guest: g }, params());
  t.equal(out.status, 'pass', out.reason ?? 'passed');
  t.same((out.details?.buses as { device: string }[]).map((b) => b.device), ['100000000.pmem', '120000000.pmem']);
  t.equal(out.details?.dimms, 2);
});

t.test('the of_pmem control: no DIMMs, a region per reg entry', async (t) => {
  const c0 = ctx(undefined as never, ['1G!4G']);
  const out = await ramdaxStep.run({ ...c0, guest: new DtGuest(nodesOf(c0)) }, params({ driver: 'of_pmem' }));
  t.equal(out.status, 'pass', out.reason ?? 'passed');
  t.equal(out.details?.dimms, 0);
});

t.test('the reg the kernel got differs from what the harness wrote', async (t) => {
  const c0 = ctx(undefined as never, ['1G!4G']);
  const out = await ramdaxStep.run({ ...c0, guest: new DtGuest(nodesOf(c0), { regInKernel: ' 00 00 00 01 00 00 00 00 00 00 00 00 20 00 00 00\n' }) }, params());
  t.equal(out.status, 'fail');
  t.equal(out.reason, '/sys/firmware/devicetree/base/pmem@100000000/reg is 0x100000000+0x20000000, the harness wrote 0x100000000+0x40000000');
});

t.test('a failing probe: a failure unless the scenario expects it, then checked to leave nothing behind', async (t) => {
  const c0 = ctx(undefined as never, ['256M!4G,0x10000800!0x110000000']);
  const failed = await ramdaxStep.run({ ...c0, guest: new DtGuest(nodesOf(c0), { probe: false }) }, params());
  t.equal(failed.status, 'fail');
  t.match(failed.reason, /^100000000\.pmem is bound to '\(none\)', not ramdax \(bind: sh: echo: write error: No such device or address; see the step's dmesg\)$/);
  const expected = await ramdaxStep.run({ ...c0, guest: new DtGuest(nodesOf(c0), { probe: false }) }, params({ expect: { bind: 'fail' } }));
  t.equal(expected.status, 'pass', expected.reason ?? 'passed');
  t.match((expected.details?.bind as Record<string, { kernel: string }>)['100000000.pmem']!.kernel, /probe with driver ramdax rejects match -6/);
  const bound = await ramdaxStep.run({ ...c0, guest: new DtGuest(nodesOf(c0)) }, params({ expect: { bind: 'fail' } }));
  t.equal(bound.status, 'fail');
  t.equal(bound.reason, '100000000.pmem bound to ramdax, and the scenario expects its probe to fail');
});

t.test('no pmem-region device at all', async (t) => {
  const c0 = ctx(undefined as never, ['1G!4G']);
  const out = await ramdaxStep.run({ ...c0, guest: new DtGuest([]) }, params());
  t.equal(out.status, 'fail');
  t.match(out.reason, /^no platform device with a pmem-region device-tree node \(the device tree should have pmem@100000000/);
});

t.test('nd_e820 on arm64 is refused with the right control named', async (t) => {
  const c0 = ctx(undefined as never, ['1G!4G']);
  const out = await ramdaxStep.run({ ...c0, guest: new DtGuest(nodesOf(c0)) }, params({ driver: 'nd_e820' }));
  t.equal(out.status, 'fail');
  t.match(out.reason, /on arm64 the label-less control is of_pmem/);
});

t.test('the driver core\'s bind line in both forms (saysBound)', async (t) => {
  // Seen on Debian 7.2.13+deb14-arm64 (2026-11-30): dev_dbg puts the device in the prefix.
  const seen = "ramdax 120000000.pmem: driver: 'ramdax': driver_bound: bound to device";
  t.ok(saysBound(seen, 'ramdax', '120000000.pmem'), '7.x form');
  t.ok(saysBound("driver: 'ramdax': driver_bound: bound to device '100000000.pmem'", 'ramdax', '100000000.pmem'), 'older form');
  t.notOk(saysBound(seen, 'of_pmem', '120000000.pmem'), 'another driver');
  t.notOk(saysBound(seen, 'ramdax', '100000000.pmem'), 'another device');
  t.notOk(saysBound("ramdax 120000000.pmem: bus: 'platform': really_probe: bound device to driver ramdax", 'ramdax', '120000000.pmem'), 'not the driver_bound line');
  t.notOk(saysBound('ramdax 120000000.pmem: probe with driver ramdax rejects match -6', 'ramdax', '120000000.pmem'), 'a refused probe');
  t.notOk(saysBound(undefined, 'ramdax', '120000000.pmem'), 'no line');
});

t.test('a bind the 7.x kernel reports in its own form passes (the old check failed every arm64 bind)', async (t) => {
  const c0 = ctx(undefined as never, ['512M!4608M']);
  const g = new DtGuest(nodesOf(c0), { log7: true });
  const out = await ramdaxStep.run({ ...c0, guest: g }, params());
  t.equal(out.status, 'pass', out.reason ?? 'passed');
  t.same(out.details?.bind, { '120000000.pmem': { holder: 'of_pmem', driver: 'ramdax', kernel: "ramdax 120000000.pmem: driver: 'ramdax': driver_bound: bound to device" } });
});
