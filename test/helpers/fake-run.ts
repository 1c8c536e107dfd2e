/**
 * runCases with fakes for its effects (fake-vm.ts) over a cache that looks set
 * up (kernel and image manifests, nothing behind their paths): the real
 * loader, runner, fold, store and TAP.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCases } from '../../harness/cli/load-cases.js';
import type { CaseEvent } from '../../harness/model/events.js';
import type { CaseResult, RunResult } from '../../harness/model/results.js';
import type { Reporter } from '../../harness/reporters/reporter.js';
import { runCases } from '../../harness/runner/run.js';
import { capabilitiesFromConfig, capabilitiesFromProbe, parseProbeOutput } from '../../harness/setup/capabilities.js';
import { keyPaths } from '../../harness/setup/keys.js';
import type { VmSpec } from '../../harness/vm/qemu-args.js';
import { root, tempDir } from './cli.js';
import { fakeHost, recordedConsole, splitAtSshd, type CommandHandler, type FakeBoot } from './fake-vm.js';

export const fixture = (n: string) => join(root, 'test/fixtures/scenarios', `${n}.yaml`);
export const RELEASE = '7.2.13+deb14-amd64';

// A cache as `setup` leaves it, with nothing behind the paths: the fakes never open them.
export const cache = await tempDir('ramdax-fake-cache-');
const kernelManifest = (name: string, capabilities: unknown, release = RELEASE) => ({
  name, release, source: 'debian:fake', packages: [], dir: '/fake', vmlinuz: '/fake/vmlinuz', initrd: '/fake/initrd.img', modulesDisk: '/fake/modules.img',
  sha256: { vmlinuz: '0'.repeat(64) }, ramdax: 'module', createdAt: '2026-12-01T00:00:00Z', kind: 'debian', capabilities,
});
const config72 = 'CONFIG_MODULES=y\nCONFIG_RAMDAX=m\nCONFIG_LIBNVDIMM=m\nCONFIG_BLK_DEV_PMEM=m\nCONFIG_X86_PMEM_LEGACY=m\nCONFIG_FS_DAX=y\nCONFIG_DEV_DAX=m\nCONFIG_DEV_DAX_PMEM=m\nCONFIG_VIRTIO_BLK=m\nCONFIG_EXT4_FS=m\nCONFIG_VIRTIO_NET=m\n';
const probe619 = parseProbeOutput(await readFile(join(root, 'test/fixtures/consoles/debian-6.19-probe.log'), 'utf8'));
for (const [name, caps, release] of [
  ['debian-7.2', capabilitiesFromConfig(config72, true), RELEASE],
  ['debian-6.19', capabilitiesFromProbe(probe619, false), '6.19.14+deb13-amd64'],
] as const) {
  await mkdir(join(cache, 'kernels', name), { recursive: true });
  await writeFile(join(cache, 'kernels', name, 'current.json'), JSON.stringify(kernelManifest(name, caps, release)));
}
// The guest's host public key (reproducer bundles pin it); no private key: nothing connects.
const keys = keyPaths(cache);
await mkdir(join(keys.hostPub, '..'), { recursive: true });
await writeFile(keys.hostPub, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFake ramdax-guest\n');
await mkdir(join(cache, 'images'), { recursive: true });
await writeFile(join(cache, 'images', 'default.current.json'), JSON.stringify({ name: 'default', dir: '/fake', rootfs: '/fake/rootfs.img', sha256: '0'.repeat(64), suite: 'trixie', packages: [], createdAt: '' }));

export const clean = splitAtSshd(await recordedConsole('clean-fsdax-ext4'));

/** What boot-smoke's commands answer on a healthy guest. */
export const bootSmoke: CommandHandler = (cmd) => {
  if (cmd === 'uname -r') return { stdout: `${RELEASE}\n` };
  if (cmd.startsWith("grep -i 'persistent memory'")) return { stdout: '100000000-11fffffff : Persistent Memory (legacy)\n' };
  if (cmd === 'test -e /sys/bus/platform/devices/e820_pmem') return {};
  if (/^echo (before|started|alive|never runs)$/.test(cmd)) return { stdout: `${cmd.slice(5)}\n` };
  return undefined;
};

export const healthy = (commands: CommandHandler = bootSmoke): FakeBoot => ({ console: clean.boot, commands });

const panicking = splitAtSshd(await recordedConsole('guest-panic'));

/**
 * A guest that boots like the recorded panic, answers as boot-smoke, and on
 * `echo c > /proc/sysrq-trigger` prints the recorded panic and ends QEMU a
 * moment later (panic=-1 with -no-reboot). `wrap` adds answers around it.
 */
export const panicsOnCrash = (wrap: (h: CommandHandler) => CommandHandler = (h) => h): FakeBoot => ({
  console: panicking.boot,
  commands: wrap((cmd, w) => {
    if (!cmd.includes('echo c > /proc/sysrq-trigger')) return bootSmoke(cmd, w);
    w.print(panicking.rest);
    setImmediate(() => w.vm.end({ exitCode: 0, signal: undefined, stderr: '' }));
    return 'never';
  }),
});

export interface FakeRun {
  exitCode: number;
  run: RunResult;
  tap: string;
  logs: string[];
  events: Map<string, CaseEvent[]>;
  host: ReturnType<typeof fakeHost>;
  case(id: string): CaseResult;
}

export async function run(
  paths: string[],
  boot: (spec: VmSpec, attempt: number) => FakeBoot,
  o: { taken?: number[]; firstSshPort?: number; kernels?: string[]; reporters?: Reporter[]; interrupt?: AbortSignal; results?: string; coverage?: { changed?: undefined } } = {},
): Promise<FakeRun> {
  const cases = await loadCases(paths, [], o.kernels ?? []);
  const host = fakeHost(boot, { taken: o.taken });
  const logs: string[] = [];
  const events = new Map<string, CaseEvent[]>();
  const recorder: Reporter = { onEvent: (c, e) => void events.set(c.id, [...(events.get(c.id) ?? []), e]) };
  let tap = '';
  const r = await runCases({
    cases,
    resultsRoot: o.results ?? (await tempDir('ramdax-fake-results-')),
    cacheDir: cache,
    keys: keyPaths(cache),
    jobs: 1,
    qemuBinary: 'qemu-system-x86_64',
    log: { info: (m) => logs.push(m), warn: (m) => logs.push(`warning: ${m}`), step: (m) => logs.push(m) },
    stdout: (text) => (tap += text),
    version: 'test',
    firstSshPort: o.firstSshPort,
    effects: host.effects,
    interrupt: o.interrupt,
    coverage: o.coverage,
    reporters: [recorder, ...(o.reporters ?? [])],
  });
  return { exitCode: r.exitCode, run: r.run, tap, logs, events, host, case: (id) => r.run.cases.find((c) => c.id === id)! };
}

