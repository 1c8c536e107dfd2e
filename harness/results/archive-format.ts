/**
 * The reproducer archive's format (pure parts): its manifest, the QEMU argv
 * as a template without host paths, the known_hosts line and repro.sh.
 *
 *   ramdax-repro-RUN-CASE/
 *     MANIFEST.json          what failed, how, on which kernel/image; every hash
 *     SHA256SUMS             sha256sum --check list of every other file
 *     kernel/                vmlinuz, initrd.img, modules.img, config
 *     scenario/              the scenario file; case.json (the expanded case)
 *     qemu-argv.template     one argument per line, @KERNEL@ @INITRD@ @MODULES@ @ROOTFS@ @PORT@ @QMP@ @CONSOLE@
 *     cmdline.txt            the kernel command line
 *     logs/                  console.log, dmesg.txt, commands.log
 *     findings.json          the kernel findings, symbolized when they were
 *     report.txt             the mail-ready text of this failure
 *     known_hosts            the guest host key (public) of the machine that packed it
 *     image/                 recipe.json, packages.txt; rootfs.img with --with-rootfs (no keys inside)
 *     repro.sh, README.txt
 */
import { basename } from 'node:path';
import type { ImageRecipe } from '../setup/portable-image.js';
import type { Finding } from '../triage/findings.js';
import type { CaseResult, RunResult } from '../model/results.js';

export const FORMAT = 'ramdax-repro/1';
/** The name under which the guest's host key is pinned (ssh -o HostKeyAlias): the port changes, the key does not. */
export const HOST_ALIAS = 'ramdax-guest';

export interface ArchiveManifest {
  format: typeof FORMAT;
  createdAt: string;
  caseId: string;
  runId: string;
  scenario: { name: string; file: string };
  /** What the failing run saw: the reproduction is compared with it. */
  outcome: {
    status: CaseResult['status'];
    point?: { id: number; name: string; kind: string; status: string; reason?: string; commands: string[] };
    /** Crash titles in syzbot's form, in order. */
    findings: string[];
  };
  kernel: {
    name: string;
    release: string;
    source: string;
    kind: string;
    ramdax: string;
    capabilities?: unknown;
    packages?: { name: string; version: string }[];
    /** Archive path → role (vmlinuz, initrd.img, modules.img, config). */
    files: Record<string, string>;
    sha256: Record<string, string>;
  };
  image: {
    name: string;
    recipe: ImageRecipe;
    packagesSha256: string;
    /** sha256 of the packing install's image file: per install (its keys are inside), for the record only. */
    installSha256: string;
    /** The key-less image (`--with-rootfs`). */
    portable?: { file: string; sha256: string };
  };
  machine?: CaseResult['machine'];
  accel?: CaseResult['accel'];
  cmdline: string;
  qemu: { version?: string; template: string };
  knownHosts: string;
  harness: RunResult['harness'];
  notes: string[];
}

export const archiveName = (runId: string, caseId: string) => `ramdax-repro-${runId}-${caseId.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/_+$/, '')}`;

/** `ssh-ed25519 AAAA... comment` → `ramdax-guest ssh-ed25519 AAAA...` (pure). */
export function knownHostsLine(pub: string): string {
  const [type, blob] = pub.trim().split(/\s+/);
  if (!type || !blob) throw new Error('not an OpenSSH public key');
  return `${HOST_ALIAS} ${type} ${blob}`;
}

/**
 * The QEMU argv with this machine's paths, port and socket replaced by
 * placeholders (pure). `paths` maps a host path to its placeholder; anything
 * else that still names one of `forbidden` becomes @HOSTPATH@ (and is reported).
 */
export function argvTemplate(argv: readonly string[], paths: Record<string, string>, forbidden: readonly string[]): { template: string[]; leftovers: string[] } {
  const leftovers: string[] = [];
  const template = argv.map((a, i) => {
    if (i === 0) return basename(a);
    let t = a;
    for (const [p, ph] of Object.entries(paths).sort((x, y) => y[0].length - x[0].length)) {
      t = t.replaceAll(p.replaceAll(',', ',,'), ph).replaceAll(p, ph);
    }
    t = t.replace(/hostfwd=tcp:127\.0\.0\.1:\d+-:22/, 'hostfwd=tcp:127.0.0.1:@PORT@-:22');
    t = t.replace(/^unix:[^,]+,server=on/, 'unix:@QMP@,server=on');
    t = t.replace(/^file,id=con0,path=.*,append=on$/, 'file,id=con0,path=@CONSOLE@,append=on');
    t = t.replace(/(^|[=,])(?:\/[^,]*)?\/ramdax-machine-[^/,]+\/root\.qcow2/, '$1@OVERLAY@').replace(/(mem-path=)(?:\/[^,]*)?\/ramdax-machine-[^/,]+\/ram\b/, '$1@RAMFILE@');
    for (const f of forbidden) {
      if (f && t.includes(f)) {
        leftovers.push(t);
        t = t.replace(new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[^,]*`, 'g'), '@HOSTPATH@');
      }
    }
    return t;
  });
  return { template, leftovers };
}

/** The findings of a case, as the archive keeps them. */
export const caseFindings = (c: CaseResult): Finding[] => c.points.flatMap((p) => p.findings ?? []);

/** repro.sh: boots the archived VM by hand on the receiving machine, the host key pinned (pure). */
export function archiveReproScript(m: ArchiveManifest): string {
  return `#!/usr/bin/env bash
# Reproducer for case '${m.caseId}' of run ${m.runId}: ${m.outcome.findings[0] ?? m.outcome.point?.name ?? m.outcome.status}
# kernel ${m.kernel.release} (${m.kernel.name}), harness ${m.harness.version}
#
# Boots the archived kernel with the same command line and disks, console
# here (Ctrl-A X quits). It needs local.env beside it, which
#   npx ramdax-harness repro ARCHIVE --unpack-only
# writes on this machine (ROOTFS: a root image with this install's keys,
# SSH_KEY: this install's client key, KNOWN_HOSTS: that image's host key).
# The guest's host key is pinned: ssh refuses any other (StrictHostKeyChecking=yes).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -r "$here/local.env" ]; then
  echo "repro.sh: no local.env in $here: run 'npx ramdax-harness repro ARCHIVE --unpack-only' first" >&2
  exit 2
fi
# shellcheck source=/dev/null
. "$here/local.env"
PORT=\${PORT:-10022}
QMP=\${QMP:-\${TMPDIR:-/tmp}/ramdax-repro-$$.sock}
KNOWN_HOSTS=\${KNOWN_HOSTS:-$here/known_hosts}
(cd "$here" && sha256sum --check --quiet SHA256SUMS) || { echo "repro.sh: the archive's files do not match SHA256SUMS" >&2; exit 2; }
mapfile -t template < "$here/qemu-argv.template"
args=()
# Inside an option string (file=...,format=raw) QEMU reads ",," as a comma.
e() { if [ "$a" = "$1" ]; then printf '%s' "$2"; else printf '%s' "\${2//,/,,}"; fi; }
for a in "\${template[@]}"; do
  a=\${a//@KERNEL@/$(e @KERNEL@ "$here/kernel/vmlinuz")}
  a=\${a//@INITRD@/$(e @INITRD@ "$here/kernel/initrd.img")}
  a=\${a//@MODULES@/$(e @MODULES@ "$here/kernel/modules.img")}
  a=\${a//@ROOTFS@/$(e @ROOTFS@ "$ROOTFS")}
  a=\${a//@PORT@/$PORT}
  a=\${a//@QMP@/$(e @QMP@ "$QMP")}
  [ "$a" = "file,id=con0,path=@CONSOLE@,append=on" ] && a="stdio,id=con0,mux=on,signal=off"
  args+=("$a")
done
echo "When the guest is up (console: 'harness-init: sshd started'), in another terminal:" >&2
echo "  ssh -i $SSH_KEY -p $PORT -o HostKeyAlias=${HOST_ALIAS} -o UserKnownHostsFile=$KNOWN_HOSTS -o StrictHostKeyChecking=yes root@127.0.0.1" >&2
cat >&2 <<'EOT'
and run the step that failed:
${(m.outcome.point?.commands ?? []).map((c) => `  ${c.replace(/\n/g, '\n  ')}`).join('\n') || '  (see logs/commands.log)'}
EOT
exec "\${args[@]}"
`;
}

export function archiveReadme(m: ArchiveManifest, name: string): string {
  return `Reproducer archive for a ramdax-harness failure
===============================================

case:     ${m.caseId} (run ${m.runId})
outcome:  ${m.outcome.findings.length ? m.outcome.findings.join('; ') : `${m.outcome.point?.name ?? '?'} ${m.outcome.status}`}
kernel:   ${m.kernel.release} (${m.kernel.name}: ${m.kernel.source})

To reproduce (any machine with the harness checked out and \`npm ci\` run):

  npx ramdax-harness repro ${name}.tar.gz            # boot, run the case, compare
  npx ramdax-harness repro ${name}.tar.gz --attempts 5

It unpacks into the cache (--cache or RAMDAX_HARNESS_CACHE), checks every
sha256 in SHA256SUMS, boots the archived kernel and runs the case. Exit 0:
reproduced (same finding title); 1: not reproduced; 2: bad or corrupted
archive; 3: host problem (QEMU missing, no root image).

Root image: ${m.image.portable ? 'included (image/rootfs.img, no SSH keys; this machine\'s keys are written into a copy)' : `not included; this machine's own image '${m.image.name}' (built by setup from the recipe in image/recipe.json) is used and its installed packages are compared with image/packages.txt`}.
See report.txt for the failure, findings.json for the kernel reports.
`;
}
