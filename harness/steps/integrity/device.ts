/**
 * The device behind a namespace as the fill tool sees it: its path, size, the
 * physical address of its first byte (when it maps memory linearly), and,
 * after a rebind or reboot, the namespace found again by its uuid.
 */
import { command } from '../../common/shell-quote.js';
import { asArray, chardevOf, type NdNamespace } from '../ndctl.js';
import type { StepRecorder } from '../recorder.js';
import { StepFailure } from '../recorder.js';
import type { NamespaceInfo } from '../types.js';

export interface Target {
  path: string;
  dax: boolean;
}

export function targetOf(name: string, ns: NamespaceInfo): Target {
  if (ns.chardev) return { path: `/dev/${ns.chardev}`, dax: true };
  if (ns.blockdev) return { path: `/dev/${ns.blockdev}`, dax: false };
  throw new StepFailure(`namespace '${name}' (${ns.dev}, ${ns.mode}) has neither a block nor a devdax device to fill`);
}

/** Size in bytes and mount point (if any) of the device, in one guest command. */
export async function probeTarget(r: StepRecorder, t: Target): Promise<{ size: number; mountedAt?: string }> {
  const size = t.dax ? `cat ${command(`/sys/bus/dax/devices/${t.path.slice(5)}/size`)}` : command('blockdev', '--getsize64', t.path);
  const mounts = t.dax ? '' : `awk -v d=${command(t.path)} '$1 == d {print "mounted " $2; exit}' /proc/mounts; `;
  const out = (await r.sh(`${mounts}echo "size $(${size})"`)).stdout;
  const n = Number(/^size (\S*)$/m.exec(out)?.[1]);
  if (!Number.isSafeInteger(n) || n <= 0) throw new StepFailure(`cannot tell the size of ${t.path}: '${out.trim()}'`);
  return { size: n, mountedAt: /^mounted (.*)$/m.exec(out)?.[1] };
}

/**
 * The physical address of the device's byte 0: the namespace's resource for
 * raw mode, the pfn/dax device's resource (start of the data, after the info
 * block and struct-page metadata) for fsdax and devdax; undefined for sector
 * mode (BTT remaps every block) and when sysfs does not say (pure).
 */
export function physStart(mode: string, nsResource: string, holder: string, holderResource: string): number | undefined {
  const num = (s: string) => (/^0x[0-9a-f]+$/i.test(s.trim()) ? Number.parseInt(s.trim(), 16) : undefined);
  if (mode === 'raw') return num(nsResource);
  if ((mode === 'fsdax' || mode === 'devdax') && /^(pfn|dax)\d+\.\d+$/.test(holder.trim())) return num(holderResource);
  return undefined;
}

export async function physOf(r: StepRecorder, ns: NamespaceInfo): Promise<number | undefined> {
  const base = `/sys/bus/nd/devices/${ns.dev}`;
  // One value per line whatever sysfs ends its values with ($(...) drops the newline; an empty value stays a line).
  const res = await r.sh(
    `echo "$(cat ${command(`${base}/resource`)} 2>/dev/null)"; h=$(cat ${command(`${base}/holder`)} 2>/dev/null); echo "$h"; echo "$([ -n "$h" ] && cat "/sys/bus/nd/devices/$h/resource" 2>/dev/null)"`,
    { allowFail: true },
  );
  const [nsRes = '', holder = '', holderRes = ''] = res.stdout.split('\n');
  return physStart(ns.mode, nsRes, holder, holderRes);
}

/** Whether a block device is mounted (filling it would wreck the file system). */
export async function mountPoint(r: StepRecorder, t: Target): Promise<string | undefined> {
  if (t.dax) return undefined;
  const res = await r.sh(`awk -v d=${command(t.path)} '$1 == d {print $2; exit}' /proc/mounts`, { allowFail: true });
  return res.stdout.trim() || undefined;
}

/**
 * After a rebind or a reboot the kernel numbers namespaces afresh: find each
 * known one again by uuid (waiting for the bus's asynchronous probing), update
 * its device names, and fail when one did not come back or came back changed.
 */
export async function refindNamespaces(r: StepRecorder, namespaces: Map<string, NamespaceInfo>, when: string): Promise<void> {
  const wanted = [...namespaces].filter(([, ns]) => ns.uuid);
  if (wanted.length === 0) return;
  let missing: string[] = [];
  for (let attempt = 0; attempt < 20; attempt++) {
    await r.sh('cat /sys/bus/nd/devices/ndbus*/wait_probe >/dev/null 2>&1', { allowFail: true });
    const listed = asArray(await r.json<NdNamespace | NdNamespace[]>('ndctl list -N'));
    missing = [];
    for (const [name, ns] of wanted) {
      const now = listed.find((x) => x.uuid === ns.uuid);
      const dev = now && (chardevOf(now) ?? now.blockdev);
      if (!now || !dev) {
        missing.push(`'${name}' (uuid ${ns.uuid}, was ${ns.dev})`);
        continue;
      }
      r.check(now.mode === ns.mode && Number(now.size) === ns.size, `namespace '${name}' (uuid ${ns.uuid}) came back ${when} as ${now.mode} of ${now.size} bytes, was ${ns.mode} of ${ns.size}`);
      Object.assign(ns, { dev: now.dev, blockdev: now.blockdev, chardev: chardevOf(now) });
    }
    if (missing.length === 0) return;
    await r.sh('sleep 0.5');
  }
  throw new StepFailure(`namespace${missing.length === 1 ? '' : 's'} ${missing.join(', ')} did not come back ${when}`);
}
