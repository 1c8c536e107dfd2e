import { mkdtemp, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { host } from '../common/exec.js';
import { track } from '../vm/live-registry.js';
import type { Scenario } from '../scenario/load.js';
import type { ImageArtifact } from '../setup/artifacts.js';
import type { Disk } from '../vm/qemu-args.js';
import type { Teardown } from './teardown.js';

export interface MachineFiles {
  root: Disk;
  /** Guest RAM backing file (machine.ramFile). */
  memoryFile?: string;
}

/** /dev/shm when it has room for the guest RAM (fast), else the temp folder. */
async function ramFileDir(bytes: number): Promise<string> {
  try {
    const st = await statfs('/dev/shm');
    if (st.bavail * st.bsize > bytes * 1.25) return '/dev/shm';
  } catch {
    // no /dev/shm
  }
  return tmpdir();
}

/**
 * The root disk and RAM a machine boots from. Normally the cached image with a
 * throw-away snapshot overlay. With `ramFile` (plan/boot-groups.ts needsRamFile), a per-machine qcow2
 * overlay and a RAM file, both outliving one QEMU process so a power cycle
 * or a warm reboot under TCG keeps them; both are removed at teardown (registered before they exist).
 */
export async function machineFiles(s: Scenario, image: ImageArtifact, teardown: Teardown, ramFile: boolean): Promise<MachineFiles> {
  if (!ramFile) return { root: { path: image.rootfs, format: 'raw', snapshot: true } };
  const dir = await mkdtemp(join(await ramFileDir(s.machine.memory), 'ramdax-machine-'));
  // Recorded in the cache too: a killed harness leaves gigabytes in /dev/shm for the next start to remove.
  const forget = track({ kind: 'ram-file', path: dir });
  teardown.add(async () => {
    await rm(dir, { recursive: true, force: true });
    forget();
  });
  const overlay = join(dir, 'root.qcow2');
  await host('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', image.rootfs, '-F', 'raw', overlay]);
  return { root: { path: overlay, format: 'qcow2' }, memoryFile: join(dir, 'ram') };
}
