import type { Logger } from '../common/log.js';
import { describeReap, openLiveRegistry, reapDeadOwners, type ReapReport } from './live-registry.js';

/**
 * For every command that may start QEMU: first clean up what harness
 * processes killed earlier left behind (their QEMUs, RAM files, sockets,
 * scratch disks), reporting it, then record this process's own.
 */
export async function startVmLifecycle(cacheDir: string, log: Pick<Logger, 'warn'>): Promise<ReapReport> {
  const report = await reapDeadOwners(cacheDir);
  const line = describeReap(report);
  if (line) log.warn(line);
  openLiveRegistry(cacheDir);
  return report;
}
