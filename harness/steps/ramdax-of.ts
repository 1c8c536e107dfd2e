/**
 * The ramdax step on device-tree machines (arm64 `virt`): every platform
 * device made from a `pmem-region` node is bound by driver_override (of_pmem
 * binds that compatible by default), then ndctl must show, per device, one
 * DIMM and one region per `reg` entry of its node.
 */
import { command, quote } from '../common/shell-quote.js';
import { hex } from '../common/units.js';
import type { CarveOut } from '../model/scenario.js';
import { platformDeviceName } from '../vm/dtb-plan.js';
import { asArray, type NdBus } from './ndctl.js';
import type { StepRecorder } from './recorder.js';
import type { StepContext } from './types.js';

export type OfDriver = 'ramdax' | 'of_pmem';

/**
 * `NAME OF_NODE` for every platform device whose node is compatible with
 * pmem-region: one grep over the NUL-separated compatible lists (a process
 * per device took 30-45 s under TCG on virt's ~50 platform devices).
 */
export const LIST_PMEM_DEVICES =
  'for c in $(grep -lzx pmem-region /sys/bus/platform/devices/*/of_node/compatible); do d=${c%/of_node/compatible}; echo "${d##*/} $(readlink -f "$d/of_node")"; done';

/** Dynamic debug for the driver core's bind messages ("bound to device", "rejects match"), when the kernel has it. */
const DYNDBG = '/sys/kernel/debug/dynamic_debug/control';
export const dyndbg = (on: boolean) => `if [ -w ${DYNDBG} ]; then echo 'file drivers/base/dd.c ${on ? '+' : '-'}p' > ${DYNDBG} && echo on; fi`;

/**
 * Whether a driver-core debug line says `driver` bound `device` (pure). Older
 * kernels name the device at the end (`driver: 'ramdax': driver_bound: bound
 * to device '100000000.pmem'`); 7.x prints it with dev_dbg, the device in the
 * prefix (`ramdax 120000000.pmem: driver: 'ramdax': driver_bound: bound to
 * device`, seen on Debian 7.2.13 arm64).
 */
export function saysBound(line: string | undefined, driver: string, device: string): boolean {
  if (!line) return false;
  const said = `driver: '${driver}': driver_bound: bound to device`;
  return line.includes(`${said} '${device}'`) || new RegExp(`(^|\\s)${escapeRe(device)}: ${escapeRe(said)}\\s*$`).test(line);
}

const escapeRe = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `ndbusN PLATFORM_DEVICE` for every nvdimm bus: whose bus is whose. */
export const LIST_BUS_PARENTS = 'for b in /sys/bus/nd/devices/ndbus*; do [ -e "$b" ] && echo "$(basename "$b") $(basename "$(dirname "$(readlink -f "$b")")")"; done; true';

/** Lines of `NAME VALUE` (pure). */
export function pairs(text: string): [string, string][] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((w) => w.length >= 2 && w[0])
    .map((w) => [w[0]!, w[1]!]);
}

/** A `reg` property read as hex bytes (`od -An -tx1 -v`), 2 address + 2 size cells per entry (pure). */
export function parseReg(hexText: string): CarveOut[] | undefined {
  const h = hexText.replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(h) || h.length % 32 !== 0) return undefined;
  const out: CarveOut[] = [];
  for (let i = 0; i < h.length; i += 32) out.push({ start: Number.parseInt(h.slice(i, i + 16), 16), size: Number.parseInt(h.slice(i + 16, i + 32), 16) });
  return out;
}

const describeReg = (reg: CarveOut[]) => reg.map((c) => `${hex(c.start)}+${hex(c.size)}`).join(', ');

/** Bind every pmem-region device to `driver` and check what ndctl shows against the device tree. */
export async function bindDeviceTree(
  r: StepRecorder,
  ctx: StepContext,
  p: { driver: OfDriver; expect: { dimms?: number; regions?: number; bind: 'ok' | 'fail' } },
): Promise<void> {
  const nodes = ctx.pmemNodes ?? [];
  const want = new Map(nodes.map((n) => [platformDeviceName(n.name), n]));
  const found = pairs((await r.sh(LIST_PMEM_DEVICES)).stdout);
  r.details.devices = found.map(([name, node]) => ({ name, node }));
  r.check(found.length > 0, `no platform device with a pmem-region device-tree node (the device tree should have ${nodes.map((n) => n.name).join(', ') || 'none'}: is there a memmap: in the scenario?)`);
  const names = found.map(([n]) => n).sort();
  r.check(
    names.join(' ') === [...want.keys()].sort().join(' '),
    `pmem-region devices ${names.join(', ')} do not match the device tree the harness wrote (${[...want.keys()].join(', ')})`,
  );
  // The node's reg as the kernel got it (after QEMU loaded the tree): the carve-outs, entry by entry.
  for (const [name, node] of found) {
    const got = parseReg((await r.sh(command('od', '-An', '-tx1', '-v', `${node}/reg`))).stdout);
    const planned = want.get(name)!.reg;
    r.check(got !== undefined && describeReg(got) === describeReg(planned), `${node}/reg is ${got ? describeReg(got) : 'unreadable'}, the harness wrote ${describeReg(planned)}`);
  }

  // What a udev system does at boot: of_pmem, the compatible's default driver, takes the devices.
  await r.sh(command('modprobe', '-a', '-q', 'of_pmem', 'nd_pmem', 'dax_pmem', 'device_dax', 'nd_btt'), { allowFail: true });
  const debug = (await r.sh(dyndbg(true), { allowFail: true })).stdout.includes('on');
  const binds: Record<string, { holder: string; bind?: string; driver: string; kernel?: string }> = {};
  try {
    for (const [name] of found) {
      const dev = `/sys/bus/platform/devices/${name}`;
      const driverOf = async () => (await r.sh(`basename "$(readlink ${quote(`${dev}/driver`)} 2>/dev/null)"`, { allowFail: true })).stdout.trim().replace(/^\.$/, '');
      const holder = await driverOf();
      // driver_override first: with it, only the named driver may bind (also when its module loads).
      await r.sh(`echo ${p.driver} > ${quote(`${dev}/driver_override`)}`);
      if (holder && holder !== p.driver) await r.sh(`echo ${quote(name)} > ${quote(`/sys/bus/platform/drivers/${holder}/unbind`)}`);
      await r.sh(command('modprobe', '-q', p.driver), { allowFail: true });
      let bindErr: string | undefined;
      if ((await driverOf()) !== p.driver) {
        const b = await r.sh(`echo ${quote(name)} > ${quote(`/sys/bus/platform/drivers/${p.driver}/bind`)}`, { allowFail: true });
        if (b.exitCode !== 0) bindErr = b.stderr.trim().split('\n').at(-1) || `exit ${b.exitCode}`;
      }
      // The driver core's own words (dynamic debug): "bound to device" or "rejects match".
      const said = debug ? (await r.sh(`dmesg | grep -F ${quote(name)} | grep -E 'driver_bound: bound to device|rejects match|probe with driver' | tail -n 1`, { allowFail: true })).stdout.trim() : '';
      binds[name] = { holder: holder || '(none)', ...(bindErr ? { bind: bindErr } : {}), driver: (await driverOf()) || '(none)', ...(said ? { kernel: said.replace(/^\[[^\]]*\]\s*/, '') } : {}) };
    }
  } finally {
    if (debug) await r.sh(dyndbg(false), { allowFail: true });
  }
  r.details.bind = binds;
  r.details.kernelBindLog = debug ? 'driver core dynamic debug (drivers/base/dd.c) during the bind' : 'no dynamic debug in this kernel';

  const buses = asArray(await r.json<NdBus | NdBus[]>('ndctl list -BDR'));
  const parents = new Map(pairs((await r.sh(LIST_BUS_PARENTS)).stdout));
  // ramdax names its bus provider "ramdax"; of_pmem names it after the platform device.
  const busOf = (name: string) => buses.find((b) => parents.get(b.dev) === name && (p.driver === 'of_pmem' ? b.provider === name : b.provider === 'ramdax'));
  r.details.buses = buses.map((b) => ({ dev: b.dev, provider: b.provider, device: parents.get(b.dev) }));

  if (p.expect.bind === 'fail') {
    for (const [name, b] of Object.entries(binds)) {
      r.check(b.driver !== p.driver, `${name} bound to ${p.driver}, and the scenario expects its probe to fail`);
      r.check(busOf(name) === undefined, `${name}: the probe failed but an nvdimm bus of ${p.driver} is left behind (${busOf(name)?.dev})`);
    }
    r.details.dimms = 0;
    return;
  }
  for (const [name, b] of Object.entries(binds)) {
    r.check(b.driver === p.driver, `${name} is bound to '${b.driver}', not ${p.driver}${b.bind ? ` (bind: ${b.bind}; see the step's dmesg)` : ''}`);
    if (debug) r.check(saysBound(b.kernel, p.driver, name), `the kernel log does not say ${p.driver} bound ${name} (last bind message: ${b.kernel ?? 'none'})`);
  }
  let dimms = 0;
  const regions: { dev: string; size: number; align?: number; available?: number; device: string }[] = [];
  for (const [name] of found) {
    const bus = busOf(name);
    r.check(bus !== undefined, `no ${p.driver} nvdimm bus under ${name} (buses: ${buses.map((b) => `${b.dev} ${b.provider}`).join(', ') || 'none'})`);
    const reg = want.get(name)!.reg;
    const ds = asArray(bus!.dimms).length;
    const rs = asArray(bus!.regions);
    dimms += ds;
    for (const x of rs) regions.push({ dev: x.dev, size: x.size, align: x.align, available: x.available_size, device: name });
    for (const x of rs) {
      const bad = asArray(x.mappings).find((m) => m.length > x.size);
      r.check((x.available_size ?? 0) >= 0 && !bad, `${x.dev}: ndctl reports impossible sizes (size ${x.size}, available_size ${x.available_size}${bad ? `, mapping length ${bad.length} on ${bad.dimm}` : ''}): the range is no larger than ramdax's label area`);
    }
    if (p.expect.dimms === undefined && p.expect.regions === undefined) {
      // Per node: one DIMM (ramdax) and one region per reg entry, each region the size of its entry.
      r.check(ds === (p.driver === 'ramdax' ? reg.length : 0), `${name} has ${reg.length} reg entr${reg.length === 1 ? 'y' : 'ies'}; its ${p.driver} bus ${bus!.dev} shows ${ds} DIMM(s)`);
      r.check(rs.length === reg.length, `${name} has ${reg.length} reg entr${reg.length === 1 ? 'y' : 'ies'}; its bus ${bus!.dev} shows ${rs.length} region(s)`);
      const sizes = (xs: number[]) => [...xs].sort((a, b) => a - b).join(',');
      r.check(sizes(rs.map((x) => x.size)) === sizes(reg.map((c) => c.size)), `${name}: region sizes ${sizes(rs.map((x) => x.size))} differ from its reg sizes ${sizes(reg.map((c) => c.size))}`);
    }
  }
  r.details.dimms = dimms;
  r.details.regions = regions;
  const expDimms = p.expect.dimms ?? (p.driver === 'ramdax' ? ctx.carveOuts.length : 0);
  const expRegions = p.expect.regions ?? ctx.carveOuts.length;
  r.check(dimms === expDimms, `expected ${expDimms} DIMM(s) on the ${p.driver} bus(es), ndctl shows ${dimms}`);
  r.check(regions.length === expRegions, `expected ${expRegions} region(s), ndctl shows ${regions.length}`);
}
