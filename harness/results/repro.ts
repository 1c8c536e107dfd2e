import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { quote } from '../common/shell-quote.js';
import type { Scenario } from '../scenario/load.js';
import { isConsoleChardev } from '../vm/qemu-args.js';
import type { CaseResult, RunResult } from './model.js';
import { HOST_ALIAS, knownHostsLine } from './archive-format.js';

/** What `ramdax-harness repro <dir>` reads back. */
export interface ReproManifest {
  caseId: string;
  runId: string;
  scenarioFile: string;
  originalScenarioFile: string;
  failedPoint?: { id: number; name: string; status: string; reason?: string; commands: string[] };
  qemuArgv: string[];
  cmdline?: string;
  kernel: CaseResult['kernel'];
  image: CaseResult['image'];
  accel: CaseResult['accel'];
  qemuVersion?: string;
  harness: RunResult['harness'];
  sshKey: string;
  /** The guest's host key as a known_hosts line (`ramdax-guest ssh-ed25519 ...`): repro.sh pins it. */
  knownHosts?: string;
  /** arm64: the device tree the case booted, copied into the bundle (repro.sh boots this copy). */
  dtb?: { file: string; sha256: string; edits: string };
}

/** For the interactive reproducer: the console multiplexed with the monitor (Ctrl-A X quits). */
export function interactiveArgv(argv: string[], sshPortVar: string, qmpSocket: string): string[] {
  return argv.map((a) => {
    if (isConsoleChardev(a)) return 'stdio,id=con0,mux=on,signal=off';
    if (a.startsWith('user,id=net0,hostfwd=tcp:127.0.0.1:')) return a.replace(/127\.0\.0\.1:\d+-:22/, `127.0.0.1:${sshPortVar}-:22`);
    if (a.startsWith('unix:') && a.includes('ramdax-qmp-')) return `unix:${qmpSocket},server=on,wait=off`;
    return a;
  });
}

/** A shell script that boots the same VM by hand and says how to run the failing step (pure). */
export function reproScript(m: ReproManifest, reproDir: string): string {
  // The bundle's own copy of the device tree (the cache's may be gone or rebuilt).
  const argv = interactiveArgv(m.qemuArgv, '@PORT@', '@QMP@').map((a, i, all) => (m.dtb && all[i - 1] === '-dtb' ? m.dtb.file : a));
  const args = argv.map((a) =>
    a.includes('@PORT@') || a.includes('@QMP@') ? `"${a.replace(/[$`"\\]/g, '\\$&').replace('@PORT@', '${PORT}').replace('@QMP@', '${QMP}')}"` : quote(a),
  );
  const checks = [
    ...Object.entries(m.kernel?.sha256 ?? {}).map(([f, h]) => ({ file: findArg(m.qemuArgv, f), sha: h })),
    ...(m.image ? [{ file: findArg(m.qemuArgv, 'rootfs.img'), sha: m.image.sha256 }] : []),
    ...(m.dtb ? [{ file: m.dtb.file, sha: m.dtb.sha256 }] : []),
  ].filter((c) => c.file);
  // A RAM-file machine's overlay and RAM file are removed after the run: made again (empty) here.
  const overlay = m.qemuArgv.map((a) => /^file=(.*\/ramdax-machine-[^/,]+)\/root\.qcow2,/.exec(a)?.[1]).find((d) => d !== undefined);
  const remake =
    overlay && m.image?.rootfs
      ? `mkdir -p ${quote(overlay)}\n[ -e ${quote(`${overlay}/root.qcow2`)} ] || qemu-img create -q -f qcow2 -b ${quote(m.image.rootfs)} -F raw ${quote(`${overlay}/root.qcow2`)}\n`
      : '';
  // The guest's host key is pinned (known_hosts beside this script); ssh refuses any other.
  const ssh = m.knownHosts
    ? `ssh -i ${quote(m.sshKey)} -p "$PORT" -o HostKeyAlias=${HOST_ALIAS} -o UserKnownHostsFile=${quote(`${reproDir}/known_hosts`)} -o StrictHostKeyChecking=yes root@127.0.0.1`
    : `ssh -i ${quote(m.sshKey)} -p "$PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1`;
  const failing = m.failedPoint?.commands ?? [];
  const dtbNote = m.dtb
    ? ['', '# The device tree carries the carve-outs (guest.dts here is its source); the harness added:', ...m.dtb.edits.trim().split('\n').map((l) => `#   ${l}`)].join('\n')
    : '';
  return `#!/usr/bin/env bash
# Reproducer for case '${m.caseId}' of run ${m.runId}
# kernel ${m.kernel?.release ?? '?'} (${m.kernel?.source ?? '?'}), ${m.qemuVersion ?? 'QEMU ?'}, accel ${m.accel?.accel ?? '?'}
# harness ${m.harness.version} on node ${m.harness.node}
# Failed: ${m.failedPoint ? `point ${m.failedPoint.id} '${m.failedPoint.name}' (${m.failedPoint.status}): ${(m.failedPoint.reason ?? '').replace(/\n/g, ' ')}` : 'see results.json'}
#
# Boots the same VM (same kernel, initrd, ${m.dtb ? 'device tree (guest.dtb here), ' : ''}disks, command line; the root disk in
# snapshot mode) with its console here. Ctrl-A X quits QEMU.${dtbNote}
# Re-run the whole case instead with: npx ramdax-harness repro ${quote(reproDir)}
set -euo pipefail
PORT=\${PORT:-10022}
QMP=\${QMP:-\${TMPDIR:-/tmp}/ramdax-repro-$$.sock}
for pair in ${checks.map((c) => quote(`${c.sha}  ${c.file}`)).join(' ')}; do
  echo "$pair" | sha256sum --check --quiet || echo "warning: \${pair#*  } is not the file the failing run used" >&2
done
${remake}echo "When the guest is up (console: 'harness-init: sshd started'), in another terminal:" >&2
echo "  ${ssh.replace(/"/g, '\\"')}" >&2
cat >&2 <<'EOT'
and run the step that failed:
${failing.map((c) => `  ${c.replace(/\n/g, '\n  ')}`).join('\n') || '  (see commands.log)'}
EOT
exec ${pairs(args).join(' \\\n  ')}
`;
}

/** `-m 4096M` on one line: an option and its value stay together. */
function pairs(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const next = args[i + 1];
    if (args[i]!.startsWith('-') && next !== undefined && !next.startsWith('-')) {
      out.push(`${args[i]} ${next}`);
      i++;
    } else out.push(args[i]!);
  }
  return out;
}

function findArg(argv: string[], base: string): string | undefined {
  for (const a of argv) {
    const m = /^(?:file=)?([^,]*)/.exec(a);
    const path = m?.[1];
    if (path && path.endsWith(`/${base}`)) return path.replaceAll(',,', ',');
  }
  return undefined;
}

/** Write `<case>/repro/` for a failed case: scenario, argv, cmdline, hashes, versions, console, repro.sh. */
export async function writeRepro(o: { caseDir: string; result: CaseResult; run: RunResult; scenario: Scenario; sshKey: string; hostPub?: string }): Promise<string> {
  const dir = join(o.caseDir, 'repro');
  await mkdir(dir, { recursive: true });
  const r = o.result;
  const failed = r.points.find((p) => p.status === 'fail' || p.status === 'error');
  const scenarioFile = join(dir, 'scenario.yaml');
  await copyFile(o.scenario.file, scenarioFile);
  let dtb: ReproManifest['dtb'];
  if (r.dtb) {
    dtb = { file: join(dir, 'guest.dtb'), sha256: r.dtb.sha256, edits: r.dtb.edits };
    await copyFile(r.dtb.path, dtb.file);
    await copyFile(r.dtb.dts, join(dir, 'guest.dts')).catch(() => undefined);
  }
  const m: ReproManifest = {
    caseId: r.id,
    runId: o.run.runId,
    scenarioFile,
    originalScenarioFile: o.scenario.file,
    failedPoint: failed && { id: failed.id, name: failed.name, status: failed.status, reason: failed.reason, commands: (failed.commands ?? []).map((c) => c.command) },
    qemuArgv: r.qemuArgv ?? [],
    cmdline: r.cmdline,
    kernel: r.kernel,
    image: r.image,
    accel: r.accel,
    qemuVersion: o.run.qemu,
    harness: o.run.harness,
    sshKey: o.sshKey,
    knownHosts: o.hostPub ? knownHostsLine(await readFile(o.hostPub, 'utf8')) : undefined,
    ...(dtb ? { dtb } : {}),
  };
  if (m.knownHosts) await writeFile(join(dir, 'known_hosts'), `${m.knownHosts}\n`);
  await writeFile(join(dir, 'case.json'), `${JSON.stringify(m, null, 2)}\n`);
  await writeFile(join(dir, 'expanded-scenario.yaml'), stringify({ ...o.scenario, steps: o.scenario.steps }));
  await writeFile(join(dir, 'qemu-argv.txt'), `${m.qemuArgv.map(quote).join(' ')}\n`);
  await writeFile(join(dir, 'cmdline.txt'), `${r.cmdline ?? ''}\n`);
  await copyFile(join(o.caseDir, 'console.log'), join(dir, 'console.log')).catch(() => undefined);
  await writeFile(join(dir, 'repro.sh'), reproScript(m, dir));
  await chmod(join(dir, 'repro.sh'), 0o755);
  return dir;
}

export async function readRepro(dir: string): Promise<ReproManifest> {
  const file = dir.endsWith('case.json') ? dir : join(dir, dir.endsWith('repro') ? '' : 'repro', 'case.json');
  return JSON.parse(await readFile(file, 'utf8')) as ReproManifest;
}
