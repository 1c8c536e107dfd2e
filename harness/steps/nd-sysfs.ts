/**
 * What the legacy-PMEM platform device and its nvdimm devices look like in the
 * guest, read in one round trip, and the "nothing left behind" / "exactly
 * what is expected" judgements on it (pure; unit-tested against fake listings).
 *
 * Everything ramdax (or nd_e820) creates hangs below the platform device
 * `/sys/devices/platform/e820_pmem/`: the bus (ndbusN, its ndctlN char
 * device), DIMMs (nmemN), regions, namespaces, pfn/dax/btt seeds, block
 * devices (pmemN) and device-dax instances (daxN.M). After an unbind nothing
 * may remain there, in ndctl's view, in /dev or in the mount table.
 */
import { posix } from 'node:path';
import { asArray, type NdBus, type NdNamespace } from './ndctl.js';

export const PLATFORM_DEV = '/sys/bus/platform/devices/e820_pmem';
const UNDER = '/sys/devices/platform/e820_pmem/';

const MODULES = ['ramdax', 'nd_e820', 'libnvdimm', 'nd_pmem', 'nd_btt', 'dax_pmem', 'device_dax'];
const DRIVERS = ['ramdax', 'nd_e820', 'e820_pmem'];

/**
 * The guest command whose output `parseSnapshot` reads. Three programs
 * (find, grep, ndctl) and shell builtins only: under TCG every exec costs
 * tens of milliseconds, and a per-device `readlink` made a snapshot take
 * seconds.
 */
export const SNAPSHOT_COMMAND = [
  // libnvdimm registers regions and namespaces asynchronously: reading wait_probe waits for that to settle.
  'for f in /sys/bus/nd/devices/ndbus*/wait_probe; do [ -e "$f" ] && read -r _ < "$f"; done',
  `find /sys/bus/nd/devices /sys/bus/dax/devices /sys/class/nd /sys/class/block ${DRIVERS.map((d) => `/sys/bus/platform/drivers/${d}`).join(' ')} /dev ${PLATFORM_DEV}/driver -maxdepth 1 -printf 'f %p %l\\n' 2>/dev/null`,
  `grep -s -H . /sys/bus/nd/devices/ndbus*/provider ${MODULES.map((m) => `/sys/module/${m}/refcnt`).join(' ')}`,
  'while read -r src dst fs rest; do case "$src" in /dev/pmem*|/dev/dax*) echo "mount $src $dst $fs";; esac; done < /proc/mounts',
  "echo '--- ndctl'",
  'ndctl list -BDRN 2>/dev/null',
  'true',
].join('\n');

export interface Mount {
  source: string;
  target: string;
  fstype: string;
}

export interface NdSnapshot {
  /** Driver bound to e820_pmem ('' when none). */
  holder: string;
  /** Resolved sysfs paths of every nd bus device, dax bus device, nd class device (ndctlN) and pmem block device. */
  devices: string[];
  /** Names that have a /dev node when they exist: pmem block devices, device-dax instances, ndctlN. */
  nodeDevices: string[];
  /** ndbusN → provider. */
  providers: Record<string, string>;
  /** Platform driver → entries of its sysfs folder (bind, unbind, uevent, e820_pmem when bound, module). */
  drivers: Record<string, string[]>;
  /** Loaded modules of the stack → refcount (built-in drivers have no refcnt and are not listed). */
  modules: Record<string, string>;
  /** /dev/pmem*, /dev/dax*, /dev/ndctl* */
  nodes: string[];
  /** pmem/dax mounts of /proc/mounts. */
  mounts: Mount[];
  /** `ndctl list -BDRN` (enabled namespaces only). */
  ndctl: NdBus[];
}

/** Read SNAPSHOT_COMMAND's output; throws on ndctl output that is not JSON. */
export function parseSnapshot(text: string): NdSnapshot {
  const [head = '', json = ''] = text.split(/^--- ndctl$/m);
  const s: NdSnapshot = { holder: '', devices: [], nodeDevices: [], providers: {}, drivers: {}, modules: {}, nodes: [], mounts: [], ndctl: [] };
  for (const line of head.split('\n')) {
    let m = /^f (\S+)(?: (\S+))?$/.exec(line.trim());
    if (m) {
      const [, path, target] = m as unknown as [string, string, string | undefined];
      const dir = posix.dirname(path);
      const name = posix.basename(path);
      const real = target ? posix.resolve(dir, target) : undefined;
      if (path === `${PLATFORM_DEV}/driver`) s.holder = target ? posix.basename(target) : '';
      else if (dir === '/sys/bus/nd/devices' && real) addDevice(s, real, false);
      else if ((dir === '/sys/bus/dax/devices' || dir === '/sys/class/nd') && real) addDevice(s, real, true);
      else if (dir === '/sys/class/block' && real && /^pmem/.test(name)) addDevice(s, real, true);
      else if (dir.startsWith('/sys/bus/platform/drivers/')) (s.drivers[posix.basename(dir)] ??= []).push(name);
      else if (dir === '/dev' && /^(pmem|dax|ndctl)/.test(name)) s.nodes.push(path);
      continue;
    }
    m = /^\/sys\/bus\/nd\/devices\/(ndbus\d+)\/provider:(.*)$/.exec(line.trim());
    if (m) {
      s.providers[m[1]!] = m[2]!;
      continue;
    }
    m = /^\/sys\/module\/(\w+)\/refcnt:(.*)$/.exec(line.trim());
    if (m) {
      s.modules[m[1]!] = m[2]!;
      continue;
    }
    const mt = /^mount (\S+) (\S+) (\S+)$/.exec(line.trim());
    if (mt) s.mounts.push({ source: mt[1]!, target: mt[2]!, fstype: mt[3]! });
  }
  for (const list of Object.values(s.drivers)) list.sort();
  s.devices.sort();
  const body = json.trim();
  s.ndctl = body ? asArray(JSON.parse(body) as NdBus | NdBus[]) : [];
  return s;
}

function addDevice(s: NdSnapshot, path: string, node: boolean): void {
  if (!s.devices.includes(path)) s.devices.push(path);
  if (node) s.nodeDevices.push(leaf(path));
}

/** Devices below the platform device, as paths relative to it (`ndbus1/region0/namespace0.0`). */
export function devicesOfPlatform(s: NdSnapshot): string[] {
  return s.devices.filter((d) => d.startsWith(UNDER)).map((d) => d.slice(UNDER.length));
}

const leaf = (p: string) => p.slice(p.lastIndexOf('/') + 1);

export interface UnboundExpect {
  /** Mount points expected to stay in the mount table with their device gone (unbind under a mounted file system). */
  orphanMounts?: string[];
  /** Modules that must be gone too (after rmmod). */
  unloaded?: string[];
}

/**
 * What an unbind left behind: e820_pmem still bound, nd/dax devices below it
 * in sysfs, a bus in ndctl's view, the driver still listing the device,
 * /dev nodes of devices that existed before, pmem/dax mounts (except the
 * orphans the caller expects), modules that should be unloaded. Empty when
 * nothing is left.
 */
export function leftovers(after: NdSnapshot, before?: NdSnapshot, expect: UnboundExpect = {}): string[] {
  const out: string[] = [];
  if (after.holder) out.push(`e820_pmem is still bound to ${after.holder}`);
  const left = devicesOfPlatform(after);
  if (left.length) out.push(`sysfs still has ${left.length} device(s) below e820_pmem: ${summarize(left)}`);
  for (const [bus, provider] of Object.entries(after.providers)) {
    if (!left.some((d) => d.split('/').includes(bus))) out.push(`sysfs still has bus ${bus} (provider ${provider})`);
  }
  for (const [drv, entries] of Object.entries(after.drivers)) {
    if (entries.includes('e820_pmem')) out.push(`driver ${drv} still lists e820_pmem`);
  }
  for (const bus of after.ndctl) {
    out.push(`ndctl still lists bus ${bus.dev} (${bus.provider}): ${asArray(bus.dimms).length} DIMM(s), ${asArray(bus.regions).length} region(s), ${countNamespaces(bus)} namespace(s)`);
  }
  const had = before ? new Set(before.nodeDevices) : undefined;
  const present = new Set(after.nodeDevices);
  for (const node of after.nodes) {
    const name = leaf(node);
    // A node whose device is gone is left behind (devtmpfs removes it with the device).
    if (!present.has(name) && (had === undefined || had.has(name) || /^(pmem|dax)/.test(name))) out.push(`stale device node ${node} (its device is gone)`);
  }
  const orphans = new Set(expect.orphanMounts ?? []);
  for (const m of after.mounts) {
    if (orphans.has(m.target)) continue;
    const alive = present.has(leaf(m.source));
    out.push(`${m.source} is still mounted on ${m.target} (${m.fstype})${alive ? '' : ', its device is gone'}`);
  }
  for (const target of orphans) {
    const m = after.mounts.find((x) => x.target === target);
    if (!m) out.push(`expected ${target} to stay mounted with its device gone, but it is not in the mount table`);
    else if (present.has(leaf(m.source))) out.push(`expected the device under ${target} (${m.source}) to be gone, but it is still there`);
  }
  for (const mod of expect.unloaded ?? []) {
    if (after.modules[mod] !== undefined) out.push(`module ${mod} is still loaded (refcount ${after.modules[mod]})`);
  }
  return out;
}

function summarize(paths: string[]): string {
  const shown = paths.slice(0, 6).join(', ');
  return paths.length > 6 ? `${shown}, … (${paths.length - 6} more)` : shown;
}

/** Enabled namespaces of a bus, as `ndctl list -N` shows them (non-zero size). */
export function namespacesOf(bus: NdBus): NdNamespace[] {
  return asArray(bus.regions).flatMap((r) => asArray(r.namespaces)).filter((n) => Number(n.size) > 0);
}

function countNamespaces(bus: NdBus): number {
  return namespacesOf(bus).length;
}

export const PROVIDERS = { ramdax: 'ramdax', nd_e820: 'e820' } as const;
export type BindDriver = keyof typeof PROVIDERS;
/** Built in, nd_e820 is called e820_pmem. */
export const DRIVER_NAMES: Record<BindDriver, string[]> = { ramdax: ['ramdax'], nd_e820: ['nd_e820', 'e820_pmem'] };

export interface BoundExpect {
  driver: BindDriver;
  dimms: number;
  regions: number;
  /** Exact number of enabled namespaces; undefined: not checked. */
  namespaces?: number;
}

/**
 * Problems with a freshly bound device: the right driver holds it, exactly
 * one bus below it with the driver's provider, ndctl and sysfs agree on the
 * counts, every namespace has its device node, nothing is mounted yet.
 */
export function boundProblems(s: NdSnapshot, e: BoundExpect): string[] {
  const out: string[] = [];
  const provider = PROVIDERS[e.driver];
  if (!DRIVER_NAMES[e.driver].includes(s.holder)) out.push(`e820_pmem is bound to '${s.holder || 'nothing'}', not ${DRIVER_NAMES[e.driver].join('/')}`);
  const below = devicesOfPlatform(s);
  const buses = [...new Set(below.map((d) => d.split('/')[0]!).filter((b) => /^ndbus\d+$/.test(b)))];
  if (buses.length !== 1) out.push(`expected one nvdimm bus below e820_pmem, sysfs has ${buses.length}${buses.length ? ` (${buses.join(', ')})` : ''}`);
  for (const b of buses) if (s.providers[b] !== provider) out.push(`${b} has provider '${s.providers[b] ?? '?'}', not '${provider}'`);
  const listed = s.ndctl.filter((b) => b.provider === provider);
  if (listed.length !== 1) {
    out.push(`expected one '${provider}' bus in ndctl list, found ${listed.length} (buses: ${s.ndctl.map((b) => b.provider).join(', ') || 'none'})`);
    return out;
  }
  const bus = listed[0]!;
  const dimms = asArray(bus.dimms).length;
  const regions = asArray(bus.regions).length;
  const sysDimms = below.filter((d) => /^nmem\d+$/.test(leaf(d))).length;
  const sysRegions = below.filter((d) => /^region\d+$/.test(leaf(d))).length;
  if (dimms !== e.dimms) out.push(`expected ${e.dimms} DIMM(s) on the ${provider} bus, ndctl shows ${dimms}`);
  if (regions !== e.regions) out.push(`expected ${e.regions} region(s), ndctl shows ${regions}`);
  if (sysDimms !== dimms) out.push(`sysfs has ${sysDimms} DIMM(s) below e820_pmem, ndctl shows ${dimms}`);
  if (sysRegions !== regions) out.push(`sysfs has ${sysRegions} region(s) below e820_pmem, ndctl shows ${regions}`);
  const ns = namespacesOf(bus);
  if (e.namespaces !== undefined && ns.length !== e.namespaces) out.push(`expected ${e.namespaces} namespace(s), ndctl shows ${ns.length}${ns.length ? ` (${ns.map((n) => n.dev).join(', ')})` : ''}`);
  const nodes = new Set(s.nodes.map(leaf));
  for (const n of ns) {
    const dev = n.blockdev ?? n.chardev ?? n.daxregion?.devices?.[0]?.chardev;
    if (dev && !nodes.has(dev)) out.push(`${n.dev}: no /dev/${dev}`);
  }
  for (const m of s.mounts) out.push(`${m.source} is mounted on ${m.target} right after the bind`);
  return out;
}

/** What identifies a namespace across unbind/rebind: its label (uuid), mode and size. */
export interface NamespaceIdentity {
  uuid: string;
  mode: string;
  size: number;
}

export function identities(s: NdSnapshot, driver: BindDriver = 'ramdax'): NamespaceIdentity[] {
  const bus = s.ndctl.find((b) => b.provider === PROVIDERS[driver]);
  return (bus ? namespacesOf(bus) : [])
    .map((n) => ({ uuid: n.uuid ?? `(no uuid: ${n.dev})`, mode: n.mode, size: Number(n.size) }))
    .sort((a, b) => a.uuid.localeCompare(b.uuid));
}

/** Differences between the namespaces before an unbind and after the rebind (from the labels). */
export function namespaceChanges(before: NamespaceIdentity[], after: NamespaceIdentity[]): string[] {
  const out: string[] = [];
  const byUuid = new Map(after.map((n) => [n.uuid, n]));
  for (const b of before) {
    const a = byUuid.get(b.uuid);
    if (!a) out.push(`namespace ${b.uuid} (${b.mode}, ${b.size} bytes) did not come back from the labels`);
    else if (a.mode !== b.mode || a.size !== b.size) out.push(`namespace ${b.uuid} came back as ${a.mode} ${a.size} bytes (was ${b.mode} ${b.size})`);
  }
  const known = new Set(before.map((b) => b.uuid));
  for (const a of after) if (!known.has(a.uuid)) out.push(`namespace ${a.uuid} (${a.mode}, ${a.size} bytes) appeared after the rebind`);
  return out;
}

/**
 * The label-less nd_e820 view: one region per range and, in each, exactly
 * one raw namespace covering the whole region (there are no labels to hold
 * anything else).
 */
export function labelLessProblems(s: NdSnapshot): string[] {
  const bus = s.ndctl.find((b) => b.provider === PROVIDERS.nd_e820);
  if (!bus) return ['no e820 bus in ndctl list'];
  const out: string[] = [];
  for (const r of asArray(bus.regions)) {
    const ns = asArray(r.namespaces).filter((n) => Number(n.size) > 0);
    if (ns.length !== 1) out.push(`${r.dev}: expected one label-less namespace, ndctl shows ${ns.length}`);
    for (const n of ns) {
      if (n.mode !== 'raw' && n.mode !== 'fsdax') out.push(`${r.dev}: label-less namespace ${n.dev} in mode ${n.mode}`);
      if (n.uuid) out.push(`${r.dev}: label-less namespace ${n.dev} has a uuid (${n.uuid}): labels on an e820 region?`);
      if (Number(n.size) !== Number(r.size)) out.push(`${r.dev}: label-less namespace ${n.dev} is ${n.size} bytes, the region ${r.size}`);
    }
  }
  return out;
}
