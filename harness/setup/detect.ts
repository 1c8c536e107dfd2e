import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatDuration } from '../common/units.js';
import type { Logger } from '../common/log.js';
import type { DriverAvailability, KernelArtifact } from './artifacts.js';
import {
  assumedBuiltin,
  capabilitiesFromConfig,
  capabilitiesFromModules,
  capabilitiesFromProbe,
  summarize,
  type KernelCapabilities,
} from './capabilities.js';
import { probeKernel } from './probe.js';

/** The release string a bzImage carries in its setup header (`kernel_version`), or undefined. Pure. */
export function bzImageRelease(image: Buffer): string | undefined {
  if (image.length < 0x210 || image.toString('latin1', 0x202, 0x206) !== 'HdrS') return undefined;
  const off = image.readUInt16LE(0x20e) + 0x200;
  if (off >= image.length) return undefined;
  const end = image.indexOf(0, off);
  const text = image.toString('latin1', off, end < 0 ? Math.min(off + 256, image.length) : end);
  return /^(\S+)/.exec(text)?.[1];
}

/** Driver availability of the ramdax driver for the legacy `ramdax` field. */
export function ramdaxAvailability(c: KernelCapabilities): DriverAvailability {
  return c.options.RAMDAX === 'unknown' ? 'absent' : c.options.RAMDAX;
}

/**
 * What a kernel offers: its .config when there is one, else its modules list,
 * else one boot with the probe initramfs (about 4 s under TCG).
 */
export async function detectCapabilities(o: {
  name: string;
  vmlinuz: string;
  config?: string;
  /** ROOT/lib/modules/RELEASE of modules the harness will ship (modules disk + initramfs). */
  modulesDir?: string;
  cacheDir: string;
  qemu?: string;
  log: Logger;
  probeLog?: string;
}): Promise<KernelCapabilities> {
  if (o.config) return capabilitiesFromConfig(await readFile(o.config, 'utf8'), !!o.modulesDir);
  if (o.modulesDir) {
    const dep = await readFile(join(o.modulesDir, 'modules.dep'), 'utf8').catch(() => '');
    const builtin = await readFile(join(o.modulesDir, 'modules.builtin'), 'utf8').catch(() => '');
    const lines = (t: string) => t.split('\n').map((l) => l.split(':')[0]!.trim()).filter(Boolean);
    return capabilitiesFromModules(lines(dep), lines(builtin));
  }
  o.log.step(`kernel '${o.name}': no config and no modules; probing it with one console-only boot`);
  const run = await probeKernel({ vmlinuz: o.vmlinuz, cacheDir: o.cacheDir, qemu: o.qemu ?? 'qemu-system-x86_64', consoleLog: o.probeLog });
  if (!run.report.done) {
    o.log.warn(`kernel '${o.name}': the probe did not finish (${run.exit.stop}, exit ${run.exit.exitCode ?? run.exit.signal}); assuming everything is built in. Console tail:\n${run.consoleTail}`);
    return { ...assumedBuiltin(), evidence: [`probe did not finish (${run.exit.stop}); assumed built in`] };
  }
  const caps = capabilitiesFromProbe(run.report, false);
  caps.evidence.push(`probe boot: ${formatDuration(run.wallMs)} wall to power-off`);
  o.log.info(`  probe: ${summarize(caps)} (${formatDuration(run.wallMs)})`);
  return caps;
}

/** Capabilities of an artifact, also for manifests written before capabilities were recorded. */
export function capabilitiesOf(a: KernelArtifact): KernelCapabilities {
  if (a.capabilities) return a.capabilities;
  const c = assumedBuiltin();
  c.options.RAMDAX = a.ramdax;
  c.evidence = [`recorded before capability detection: ramdax ${a.ramdax}${a.initrd ? ', modular kernel with the harness initramfs' : ''}`];
  return c;
}
