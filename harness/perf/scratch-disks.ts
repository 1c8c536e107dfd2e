import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Disk } from '../vm/qemu-args.js';
import { track } from '../vm/live-registry.js';

export interface ScratchDiskSpec {
  size: number;
}

/** Serial of the i-th scratch disk: the guest finds it as /sys/block/vdX/serial. */
export const scratchSerial = (i: number) => `scratch${i}`;

/**
 * Empty sparse raw files in the case folder, one per `machine.disks` entry,
 * attached as virtio-blk after the harness's own disks (host page cache
 * bypassed: cache=none). Deleted again by `removeScratchDisks`.
 */
export async function createScratchDisks(caseDir: string, specs: ScratchDiskSpec[]): Promise<Disk[]> {
  const disks: Disk[] = [];
  for (const [i, s] of specs.entries()) {
    const path = join(caseDir, `scratch-${i}.img`);
    forgets.set(path, track({ kind: 'scratch-disk', path }));
    const fh = await open(path, 'w');
    try {
      await fh.truncate(s.size);
    } finally {
      await fh.close();
    }
    disks.push({ path, format: 'raw', serial: scratchSerial(i), cache: 'none' });
  }
  return disks;
}

export async function removeScratchDisks(disks: Disk[]): Promise<void> {
  for (const d of disks) {
    await rm(d.path, { force: true });
    forgets.get(d.path)?.();
    forgets.delete(d.path);
  }
}

/** Scratch disks are recorded in the cache until removed (a killed harness leaves them for the next start). */
const forgets = new Map<string, () => void>();
