/** What a kernel offers, as recorded in results and read by the runner (setup/capabilities.ts finds it out). */

/** How a kernel offers the ramdax driver. */
export type DriverAvailability = 'builtin' | 'module' | 'absent';

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

/** The .gcno files of a coverage build (kbuild/coverage-build.ts keeps them; coverage/ reads them). */
export interface GcovRecord {
  /** Folder holding obj/<dir>/*.gcno and src/<dir>/*.{c,h} (the sources as compiled, patches applied). */
  dir: string;
  /** The object folder the kernel was built in: the guest's /sys/kernel/debug/gcov mirrors this absolute path. */
  objDir: string;
  /** The source tree as compiled: the path the .gcno files name. */
  srcDir: string;
  dirs: string[];
  gcno: number;
}
