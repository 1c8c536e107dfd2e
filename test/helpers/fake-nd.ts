/**
 * A fake guest for the ramdax lifecycle steps: a small model of the
 * e820_pmem platform device, its driver, the nvdimm devices below it and
 * the labels that outlive an unbind, rendered as the snapshot command's
 * output (the layout is the one seen on Debian 7.2.13, see
 * test/fixtures/nd/). Faults can be injected to prove the checks catch them.
 */
import { posix } from 'node:path';
import { PLATFORM_DEV, SNAPSHOT_COMMAND } from '../../harness/steps/nd-sysfs.js';
import { SLAB_SAMPLE_COMMAND } from '../../harness/steps/mem-sample.js';
import type { CommandResult, Guest } from '../../harness/steps/types.js';

const G = 1024 ** 3;

export interface FakeNamespace {
  uuid: string;
  mode: 'fsdax' | 'devdax' | 'raw' | 'sector';
  size: number;
  region: number;
}

export interface Faults {
  /** The unbind leaves regionN (and the bus) in sysfs. */
  keepRegionAfterUnbind?: boolean;
  /** The unbind leaves /dev/pmem0 behind. */
  staleNode?: boolean;
  /** The rebind brings back one namespace fewer than the labels hold. */
  loseNamespaceOnBind?: boolean;
  /** ndctl still lists the bus after the unbind. */
  ndctlKeepsBus?: boolean;
  /** Every bind leaks this many kernfs nodes and 8 KiB of unreclaimable slab per node. */
  leakObjects?: number;
  /** The bind write fails. */
  bindFails?: boolean;
  /** `modprobe -r ramdax` unloads the module (and unbinds) although the device is bound. */
  rmmodWhileBound?: boolean;
  /** The unbind write never returns. */
  unbindHangs?: boolean;
}

export class FakeNd implements Guest {
  readonly log: string[] = [];
  holder: '' | 'ramdax' | 'e820_pmem' | 'nd_e820' = '';
  override = '';
  busId = 0;
  namespaces: FakeNamespace[] = [];
  mounts: { source: string; target: string; fstype: string }[] = [];
  modules: Record<string, string> = { ramdax: '0', libnvdimm: '3', nd_pmem: '0', dax_pmem: '0', device_dax: '1', nd_btt: '0' };
  leftovers: string[] = [];
  kernfs = 30_000;
  sunreclaimKb = 48_000;
  /** Extra canned replies, tried first. */
  replies: [RegExp, (cmd: string) => Partial<CommandResult>][] = [];

  constructor(
    readonly regions = 1,
    readonly faults: Faults = {},
    readonly e820Name: 'nd_e820' | 'e820_pmem' = 'nd_e820',
  ) {}

  private bind(driver: 'ramdax' | 'nd_e820' | 'e820_pmem'): boolean {
    if (this.faults.bindFails || this.holder) return false;
    this.holder = driver;
    this.busId++;
    if (driver === 'ramdax' && this.faults.loseNamespaceOnBind) this.namespaces = this.namespaces.slice(1);
    this.kernfs += this.faults.leakObjects ?? 0;
    this.sunreclaimKb += (this.faults.leakObjects ?? 0) * 8;
    return true;
  }

  private unbind(): void {
    if (this.faults.keepRegionAfterUnbind) this.leftovers = [`ndbus${this.busId}`, `ndbus${this.busId}/region0`];
    this.holder = '';
  }

  /** The snapshot command's output for the current state (find's `f PATH TARGET` lines, grep's `file:value` lines). */
  render(): string {
    const out: string[] = [];
    const link = (dir: string, real: string) => `f ${dir}/${posix.basename(real)} ${posix.relative(dir, real)}`;
    const nd = (real: string) => out.push(link('/sys/bus/nd/devices', real));
    out.push(this.holder ? link(PLATFORM_DEV, `/sys/bus/platform/drivers/${this.holder}`).replace(/^f \S+/, `f ${PLATFORM_DEV}/driver`) : '');
    const base = `/sys/devices/platform/e820_pmem/ndbus${this.busId}`;
    const nodes: string[] = [];
    const providers: string[] = [];
    if (this.holder) {
      const ramdax = this.holder === 'ramdax';
      nd(base);
      out.push(link('/sys/class/nd', `${base}/nd/ndctl${this.busId}`));
      nodes.push(`ndctl${this.busId}`);
      for (let r = 0; r < this.regions; r++) {
        if (ramdax) nd(`${base}/nmem${r}`);
        for (const x of [`region${r}`, `region${r}/btt${r}.0`, `region${r}/pfn${r}.0`, `region${r}/dax${r}.0`]) nd(`${base}/${x}`);
      }
      let pmem = 0;
      for (const [i, ns] of this.visible().entries()) {
        const nsPath = `${base}/region${ns.region}/namespace${ns.region}.${i}`;
        nd(nsPath);
        if (ns.mode === 'devdax') {
          nd(`${base}/region${ns.region}/dax${ns.region}.1`);
          out.push(link('/sys/bus/dax/devices', `${base}/region${ns.region}/dax${ns.region}.1/dax${ns.region}.0`));
          nodes.push(`dax${ns.region}.0`);
        } else {
          out.push(link('/sys/class/block', `${nsPath}/block/pmem${pmem}`));
          nodes.push(`pmem${pmem++}`);
        }
      }
      providers.push(`/sys/bus/nd/devices/ndbus${this.busId}/provider:${ramdax ? 'ramdax' : 'e820'}`);
    }
    for (const l of this.leftovers) nd(`/sys/devices/platform/e820_pmem/${l}`);
    if (this.faults.staleNode && !this.holder) nodes.push('pmem0');
    for (const d of ['ramdax', this.e820Name]) {
      out.push(`f /sys/bus/platform/drivers/${d} `);
      for (const e of ['bind', 'uevent', 'unbind', ...(d === 'ramdax' ? ['module'] : []), ...(this.holder === d ? ['e820_pmem'] : [])]) out.push(`f /sys/bus/platform/drivers/${d}/${e} ${e === 'e820_pmem' ? '../../../../devices/platform/e820_pmem' : ''}`);
    }
    out.push('f /dev ', 'f /dev/null ', 'f /dev/vda ', ...nodes.map((n) => `f /dev/${n} `));
    out.push(...providers, ...Object.entries(this.modules).map(([m, refcnt]) => `/sys/module/${m}/refcnt:${refcnt}`));
    for (const m of this.mounts) out.push(`mount ${m.source} ${m.target} ${m.fstype}`);
    out.push('--- ndctl');
    const bus = this.ndctl();
    if (bus) out.push(JSON.stringify(bus, null, 2));
    return `${out.join('\n')}\n`;
  }

  /** Namespaces the bound driver shows: ramdax's from the labels; nd_e820 one raw namespace per region. */
  private visible(): FakeNamespace[] {
    if (this.holder === 'ramdax') return this.namespaces;
    if (this.holder) return Array.from({ length: this.regions }, (_, r) => ({ uuid: '', mode: 'raw' as const, size: G, region: r }));
    return [];
  }

  private ndctl(): unknown {
    if (!this.holder && !this.faults.ndctlKeepsBus) return undefined;
    const ramdax = this.holder === 'ramdax' || (!this.holder && this.faults.ndctlKeepsBus);
    let pmem = 0;
    const regions = Array.from({ length: this.regions }, (_, r) => {
      const ns = this.visible()
        .map((n, i) => ({ n, i }))
        .filter(({ n }) => n.region === r)
        .map(({ n, i }) => ({
          dev: `namespace${r}.${i}`,
          mode: n.mode,
          size: n.size,
          ...(n.uuid ? { uuid: n.uuid } : {}),
          ...(n.mode === 'devdax' ? { chardev: `dax${r}.0` } : { blockdev: `pmem${pmem++}` }),
        }));
      return {
        dev: `region${r}`,
        size: G,
        align: 16777216,
        available_size: G - ns.reduce((a, n) => a + n.size, 0),
        type: 'pmem',
        ...(ramdax ? { mappings: [{ dimm: `nmem${r}`, offset: 0, length: G - 131072 }] } : {}),
        ...(ns.length ? { namespaces: ns } : {}),
      };
    });
    return { provider: ramdax ? 'ramdax' : 'e820', dev: `ndbus${this.busId}`, ...(ramdax ? { dimms: Array.from({ length: this.regions }, (_, r) => ({ dev: `nmem${r}` })) } : {}), regions };
  }

  private meminfo(): string {
    return `MemTotal:        4000000 kB\nMemFree:         3000000 kB\nBuffers:            1000 kB\nCached:            50000 kB\nSReclaimable:      10000 kB\nSUnreclaim:        ${this.sunreclaimKb} kB\nPercpu:             1024 kB\nVmallocUsed:        9000 kB\n`;
  }

  private slab(): string {
    return `${this.meminfo()}--- slabinfo\nslabinfo - version: 2.1\n# name <active_objs> ...\nkernfs_node_cache ${this.kernfs} ${this.kernfs + 32} 128 32 1 : tunables 0 0 0 : slabdata 1 1 0\n`;
  }

  /** Run one operation of a cycle script, as the kernel would. */
  private cycleOp(op: string): number {
    switch (op) {
      case 'unload-bound':
        if (!this.faults.rmmodWhileBound) return 1;
        this.unbind();
        delete this.modules.ramdax;
        return 0;
      case 'unbind':
      case 'unbind-e820':
      case 'unload':
        this.unbind();
        if (op === 'unload') delete this.modules.ramdax;
        return 0;
      case 'load':
        this.modules.ramdax = '0';
        return this.override === 'ramdax' && this.bind('ramdax') ? 0 : 0;
      case 'bind':
        if (this.holder === 'ramdax') return 0;
        return this.bind('ramdax') ? 0 : 1;
      case 'bind-e820':
        return this.bind(this.e820Name) ? 0 : 1;
      default:
        return 127;
    }
  }

  /** A cycle script: run its operations in order, print a snapshot where the script has one. */
  private runCycle(cmd: string): string {
    const out: string[] = [];
    for (const line of cmd.split('\n')) {
      const op = /^op (\S+) /.exec(line);
      if (op) {
        const rc = this.cycleOp(op[1]!);
        out.push(`@rc ${op[1]} ${rc}`, `@ms ${op[1]} 12`);
        continue;
      }
      if (/^echo ramdax > \$P\/driver_override$/.test(line)) this.override = 'ramdax';
      if (/^echo > \$P\/driver_override/.test(line)) this.override = '';
      if (line.startsWith("echo '@@ ")) out.push(line.slice(6, -1));
      if (line.startsWith('[ -e $P/driver ] && echo "@auto')) out.push(`@auto ${this.holder ? 'yes' : 'no'}`);
      if (line.startsWith('for f in /sys/bus/nd/devices/ndbus*/wait_probe')) out.push(this.render());
    }
    return out.join('\n');
  }

  async exec(command: string, opts: { timeoutMs: number }): Promise<CommandResult> {
    this.log.push(command);
    if (!(opts.timeoutMs > 0)) throw new Error(`bad timeout ${opts.timeoutMs}`);
    const done = (r: Partial<CommandResult>): CommandResult => ({ command, exitCode: 0, stdout: '', stderr: '', durationMs: 1, timedOut: false, ...r });
    for (const [re, f] of this.replies) if (re.test(command)) return done(f(command));
    if (command === SNAPSHOT_COMMAND) return done({ stdout: this.render() });
    if (command === SLAB_SAMPLE_COMMAND) return done({ stdout: this.slab() });
    if (command.startsWith('now() {')) {
      return done({ stdout: this.runCycle(command) });
    }
    if (command === 'test -e /sys/bus/platform/devices/e820_pmem') return done({});
    if (command === 'rm -f /tmp/harness-unbind.rc') return done({});
    const bg = /^\( echo e820_pmem > \/sys\/bus\/platform\/drivers\/(\S+)\/unbind; echo \$\? > \/tmp\/harness-unbind\.rc \) > \/dev\/null 2>&1 < \/dev\/null & i=0; while .* -lt (\d+) \]/.exec(command);
    if (bg) {
      if (this.faults.unbindHangs) return done({ stdout: `waiting ${bg[2]}\n` });
      if (this.holder !== bg[1]) return done({ stdout: 'done 1 1\n' });
      this.unbind();
      return done({ stdout: 'done 0 3\n' });
    }
    if (command.startsWith('i=0; while [ ! -e /tmp/harness-unbind.rc ]')) return done({ stdout: 'waiting 600\n' });
    if (command === 'echo 1 > /proc/sys/kernel/sysrq; echo w > /proc/sysrq-trigger') return done({});
    if (command.startsWith('modprobe -a -q ')) return done({});
    let m = /^echo (\S*) > \/sys\/bus\/platform\/devices\/e820_pmem\/driver_override$/.exec(command);
    if (m) {
      this.override = m[1] === "''" ? '' : m[1]!;
      return done({});
    }
    if (/^basename "\$\(readlink \/sys\/bus\/platform\/devices\/e820_pmem\/driver 2>\/dev\/null\)"$/.test(command)) return done({ stdout: `${this.holder || '.'}\n` });
    m = /^echo e820_pmem > \/sys\/bus\/platform\/drivers\/(\S+)\/(unbind|bind)$/.exec(command);
    if (m) {
      if (m[2] === 'unbind') {
        if (this.holder !== m[1]) return done({ exitCode: 1, stderr: 'sh: echo: I/O error: No such device\n' });
        this.unbind();
        return done({});
      }
      const driver = m[1] === 'ramdax' ? 'ramdax' : this.e820Name;
      return this.bind(driver) ? done({}) : done({ exitCode: 1, stderr: 'sh: echo: I/O error: No such device\n' });
    }
    if (command.startsWith('echo e820_pmem > $(ls -d /sys/bus/platform/drivers/nd_e820')) {
      return this.bind(this.e820Name) ? done({}) : done({ exitCode: 1 });
    }
    return done({ exitCode: 127, stderr: `sh: fake guest has no reply for: ${command}\n` });
  }
}
