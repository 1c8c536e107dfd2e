/**
 * What a kernel offers (pure; unit-tested): the ramdax driver, the DAX
 * options, and whether it can reach SSH (mount an ext4 root from a virtio
 * disk and bring up virtio-net). Read from its .config when there is one,
 * else from its modules list, else from a boot probe's report.
 */

/** How a kernel offers a driver or option; `unknown` when the source cannot tell. */
export type Availability = 'builtin' | 'module' | 'absent' | 'unknown';

/** The options the harness cares about, by Kconfig name (without CONFIG_). */
export const OPTIONS = {
  RAMDAX: 'ramdax',
  LIBNVDIMM: 'libnvdimm',
  BLK_DEV_PMEM: 'nd_pmem',
  X86_PMEM_LEGACY: 'nd_e820',
  OF_PMEM: 'of_pmem',
  FS_DAX: undefined,
  DEV_DAX: 'device_dax',
  DEV_DAX_PMEM: 'dax_pmem',
  VIRTIO_BLK: 'virtio_blk',
  EXT4_FS: 'ext4',
  VIRTIO_NET: 'virtio_net',
} as const satisfies Record<string, string | undefined>;
export type OptionName = keyof typeof OPTIONS;
export const OPTION_NAMES = Object.keys(OPTIONS) as OptionName[];

/** What the SSH path needs: a root disk, its file system, the network. */
export const SSH_NEEDS: OptionName[] = ['VIRTIO_BLK', 'EXT4_FS', 'VIRTIO_NET'];

export interface ProbeReport {
  release?: string;
  /** Lines of /proc/iomem naming Persistent Memory. */
  pmem: string[];
  e820Pmem?: boolean;
  ramdaxDriver?: boolean;
  /** Driver names under /sys/bus/virtio/drivers. */
  virtioDrivers: string[];
  /** Block file systems of /proc/filesystems. */
  filesystems: string[];
  /** Drivers under /sys/bus/nd/drivers and /sys/bus/dax/drivers. */
  ndDrivers: string[];
  daxDrivers: string[];
  /** `CONFIG_X=y|m` lines from /proc/config.gz when the kernel has IKCONFIG_PROC. */
  config: string[];
  done: boolean;
}

export interface KernelCapabilities {
  /** Where the answers come from. */
  from: 'config' | 'modules' | 'probe' | 'assumed';
  options: Record<OptionName, Availability>;
  /** Whether the harness can boot it to SSH (with modules on the modules disk when needed). */
  ssh: { reachable: boolean; missing: OptionName[] };
  /** One line per fact a reader needs, e.g. "probed: /sys/bus/platform/drivers/ramdax absent". */
  evidence: string[];
  probe?: ProbeReport;
}

const allUnknown = (): Record<OptionName, Availability> =>
  Object.fromEntries(OPTION_NAMES.map((o) => [o, 'unknown'])) as Record<OptionName, Availability>;

function sshOf(options: Record<OptionName, Availability>, modulesUsable: boolean): KernelCapabilities['ssh'] {
  const missing = SSH_NEEDS.filter((o) => !(options[o] === 'builtin' || (options[o] === 'module' && modulesUsable)));
  return { reachable: missing.length === 0, missing };
}

/** From a kernel .config. `modulesUsable`: the harness has this kernel's modules (modules disk + initramfs). */
export function capabilitiesFromConfig(config: string, modulesUsable: boolean): KernelCapabilities {
  const options = allUnknown();
  const modulesOn = /^CONFIG_MODULES=y$/m.test(config);
  for (const o of OPTION_NAMES) {
    const m = new RegExp(`^CONFIG_${o}=([ym])$`, 'm').exec(config);
    options[o] = !m ? 'absent' : m[1] === 'y' ? 'builtin' : 'module';
  }
  const usable = modulesUsable && modulesOn;
  const evidence = [`from .config: RAMDAX ${options.RAMDAX}, FS_DAX ${options.FS_DAX}, DEV_DAX ${options.DEV_DAX}`];
  const ssh = sshOf(options, usable);
  if (!usable && SSH_NEEDS.some((o) => options[o] === 'module')) evidence.push('modules are configured but the harness has none for this kernel');
  return { from: 'config', options, ssh, evidence };
}

/** Module names from paths or names: `kernel/drivers/nvdimm/ramdax.ko.xz` → `ramdax`. */
export function moduleName(path: string): string {
  return (path.split('/').at(-1) ?? path).replace(/\.ko(\.(xz|zst|gz))?$/, '').replaceAll('-', '_');
}

/** From modules.dep-style lists of loadable modules and modules.builtin. */
export function capabilitiesFromModules(loadable: readonly string[], builtin: readonly string[]): KernelCapabilities {
  const mods = new Set(loadable.map(moduleName));
  const built = new Set(builtin.map(moduleName));
  const options = allUnknown();
  for (const o of OPTION_NAMES) {
    const mod = OPTIONS[o];
    if (!mod) continue;
    options[o] = built.has(mod) ? 'builtin' : mods.has(mod) ? 'module' : 'absent';
  }
  // Options whose module name differs when built in, or that are bool: only a config or probe knows.
  if (options.X86_PMEM_LEGACY === 'absent' && built.size === 0) options.X86_PMEM_LEGACY = 'unknown';
  return { from: 'modules', options, ssh: sshOf(options, true), evidence: [`from the modules list: ramdax ${options.RAMDAX}`] };
}

/** Lines the probe init prints: `harness-probe: key=value`. */
export function parseProbeOutput(consoleText: string): ProbeReport {
  const r: ProbeReport = { pmem: [], virtioDrivers: [], filesystems: [], ndDrivers: [], daxDrivers: [], config: [], done: false };
  const words = (v: string) => v.split(/\s+/).filter(Boolean);
  for (const raw of consoleText.split('\n')) {
    const m = /harness-probe: ([a-z0-9_-]+)(?:=(.*))?$/.exec(raw.replace(/\r$/, ''));
    if (!m) continue;
    const v = (m[2] ?? '').trim();
    switch (m[1]) {
      case 'uname': r.release = v; break;
      case 'iomem': if (v) r.pmem.push(v); break;
      case 'e820_pmem': r.e820Pmem = v === 'present'; break;
      case 'ramdax': r.ramdaxDriver = v === 'present'; break;
      case 'virtio': r.virtioDrivers.push(...words(v)); break;
      case 'fs': r.filesystems.push(...words(v)); break;
      case 'nd': r.ndDrivers.push(...words(v)); break;
      case 'dax': r.daxDrivers.push(...words(v)); break;
      case 'config': if (/^CONFIG_\w+=[ym]$/.test(v)) r.config.push(v); break;
      case 'done': r.done = true; break;
    }
  }
  return r;
}

/**
 * From what a boot probe saw. Nothing was loaded during the probe, so a
 * driver present is built in; absent means absent unless `modulesUsable`.
 * An IKCONFIG_PROC config, when the probe could read it, wins.
 */
export function capabilitiesFromProbe(p: ProbeReport, modulesUsable: boolean): KernelCapabilities {
  if (p.config.length) {
    const caps = capabilitiesFromConfig(p.config.join('\n'), modulesUsable);
    return { ...caps, from: 'probe', probe: p, evidence: [`probed /proc/config.gz: RAMDAX ${caps.options.RAMDAX}, FS_DAX ${caps.options.FS_DAX}`] };
  }
  const options = allUnknown();
  const seen = (present: boolean | undefined): Availability => (present === undefined ? 'unknown' : present ? 'builtin' : modulesUsable ? 'unknown' : 'absent');
  options.RAMDAX = seen(p.ramdaxDriver);
  options.X86_PMEM_LEGACY = p.e820Pmem ? 'builtin' : p.pmem.length && p.e820Pmem === false ? seen(false) : 'unknown';
  options.VIRTIO_BLK = seen(p.virtioDrivers.includes('virtio_blk'));
  options.VIRTIO_NET = seen(p.virtioDrivers.includes('virtio_net'));
  options.EXT4_FS = seen(p.filesystems.includes('ext4'));
  options.BLK_DEV_PMEM = seen(p.ndDrivers.includes('nd_pmem'));
  options.DEV_DAX = seen(p.daxDrivers.includes('device_dax'));
  options.LIBNVDIMM = seen(p.ndDrivers.length > 0);
  const evidence = [
    `probed: /sys/bus/platform/drivers/ramdax ${p.ramdaxDriver ? 'present' : 'absent'}`,
    `probed: e820_pmem ${p.e820Pmem ? 'present' : 'absent'}, virtio drivers: ${p.virtioDrivers.join(' ') || 'none'}, block file systems: ${p.filesystems.join(' ') || 'none'}`,
  ];
  return { from: 'probe', options, ssh: sshOf(options, modulesUsable), evidence, probe: p };
}

/** A kernel we know nothing about but its claim to have everything built in. */
export function assumedBuiltin(): KernelCapabilities {
  const options = allUnknown();
  for (const o of SSH_NEEDS) options[o] = 'builtin';
  return { from: 'assumed', options, ssh: { reachable: true, missing: [] }, evidence: ['no config, no modules, no probe: assumed to have virtio_blk, ext4 and virtio_net built in'] };
}

const LABELS: Partial<Record<OptionName, string>> = { VIRTIO_BLK: 'virtio_blk', EXT4_FS: 'ext4', VIRTIO_NET: 'virtio_net' };

/** Why this kernel cannot reach SSH, or undefined when it can. */
export function sshGap(c: KernelCapabilities): string | undefined {
  if (c.ssh.reachable) return undefined;
  return `no ${c.ssh.missing.map((o) => LABELS[o] ?? o).join('/')} to reach SSH`;
}

/** The ramdax driver's availability with its evidence, for a skip reason. */
export function ramdaxReason(release: string, c: KernelCapabilities): string {
  const ev = c.from === 'probe' && !c.probe?.config.length ? ` (probed: /sys/bus/platform/drivers/ramdax ${c.probe?.ramdaxDriver ? 'present' : 'absent'})` : c.from === 'config' ? ' (CONFIG_RAMDAX not set)' : ` (${c.from})`;
  return `kernel ${release} has no ramdax driver${ev}`;
}

/** A one-line summary: "ramdax module, FS_DAX builtin, DEV_DAX module, SSH yes (config)". */
export function summarize(c: KernelCapabilities): string {
  const o = c.options;
  return `ramdax ${o.RAMDAX}, FS_DAX ${o.FS_DAX}, DEV_DAX ${o.DEV_DAX}, SSH ${c.ssh.reachable ? 'yes' : `no (${sshGap(c)})`} [${c.from}]`;
}
