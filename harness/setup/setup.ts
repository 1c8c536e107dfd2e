import type { Catalog } from '../catalog/catalog.js';
import { kernelArch } from '../catalog/schema.js';
import { inputError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { ensureKernel } from './kernels.js';
import { ensureBuildTools, ensureHostPackages } from './host-packages.js';
import { ensureImage } from './image.js';
import { ensureKeys } from './keys.js';
import { verifiedImage, verifiedKernel } from './verified.js';

export interface SetupOptions {
  cacheDir: string;
  kernels: string[];
  images: string[];
  refresh: boolean;
  skipHostPackages: boolean;
  /** Hash every cached file in full. */
  verify?: boolean;
}

export interface SetupReport {
  lines: string[];
  didWork: boolean;
}

/** Everything a run needs, each piece cached by content; a second call does nothing and says so. */
export async function setup(catalog: Catalog, o: SetupOptions, log: Logger): Promise<SetupReport> {
  const lines: string[] = [];
  let didWork = false;
  for (const k of o.kernels) if (!catalog.kernels.has(k)) throw inputError(`unknown kernel '${k}' (known: ${[...catalog.kernels.keys()].join(', ')})`);
  for (const i of o.images) if (!catalog.images.has(i)) throw inputError(`unknown image '${i}' (known: ${[...catalog.images.keys()].join(', ')})`);

  if (!o.skipHostPackages) {
    const arches = [...new Set([...o.kernels.map((k) => kernelArch(catalog.kernels.get(k)!)), ...o.images.map((i) => catalog.images.get(i)!.arch ?? 'x86_64')])];
    const pk = await ensureHostPackages(log, arches);
    if (pk.installed.length) {
      didWork = true;
      lines.push(`host packages: installed ${pk.installed.join(' ')}`);
    } else lines.push('host packages: already present');
  }
  // A kernel built from source needs flex, bison, libelf-dev, … : checked (and installed) before anything is fetched.
  if (o.kernels.some((k) => catalog.kernels.get(k)!.source)) {
    const tools = await ensureBuildTools(log, { install: !o.skipHostPackages });
    if (tools.installed.length) {
      didWork = true;
      lines.push(`kernel build tools: installed ${tools.installed.join(' ')}`);
    } else lines.push('kernel build tools: already present');
  }
  const keys = await ensureKeys(o.cacheDir, log);
  for (const name of o.kernels) {
    let { artifact, cached } = await ensureKernel(catalog.kernels.get(name)!, o.cacheDir, log, { refresh: o.refresh });
    // Cached is not trusted: checked (size+mtime, or sha256), fetched again when corrupted.
    if (cached) artifact = await verifiedKernel(o.cacheDir, name, catalog, log, { full: !!o.verify });
    didWork ||= !cached;
    lines.push(`kernel ${name}: ${artifact.release} (ramdax ${artifact.ramdax}) ${cached ? 'cached' : 'fetched'} in ${artifact.dir}`);
  }
  for (const name of o.images) {
    let { artifact, cached } = await ensureImage(catalog.images.get(name)!, o.cacheDir, keys, log);
    if (cached) artifact = await verifiedImage(o.cacheDir, name, catalog, log, { full: !!o.verify });
    didWork ||= !cached;
    lines.push(`image ${name}: ${cached ? 'cached' : 'built'} ${artifact.rootfs} (sha256 ${artifact.sha256.slice(0, 12)})`);
  }
  return { lines, didWork };
}
