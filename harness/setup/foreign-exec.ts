/**
 * Running arm64 programs on an x86_64 host, for mmdebstrap's foreign
 * bootstrap (the maintainer scripts of an arm64 Debian run under qemu-user).
 * The kernel hands foreign ELF files to /usr/bin/qemu-aarch64-static through
 * binfmt_misc: qemu-user-static ships the handler, binfmt-support's
 * update-binfmts registers it (and mounts /proc/sys/fs/binfmt_misc when it
 * is not mounted — a host without systemd has no automount for it).
 */
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { debArch, hostArch, type Arch } from '../common/arch.js';
import { infraError } from '../common/errors.js';
import type { Logger } from '../common/log.js';

const BINFMT = '/proc/sys/fs/binfmt_misc';
/** qemu-user-static's binfmt entry name per architecture. */
const HANDLER: Record<Arch, string> = { x86_64: 'qemu-x86_64', arm64: 'qemu-aarch64' };

/** `enabled` and the interpreter of a binfmt_misc entry (pure). */
export function parseBinfmtEntry(text: string): { enabled: boolean; interpreter?: string; flags?: string } {
  return {
    enabled: /^enabled$/m.test(text),
    interpreter: /^interpreter (\S+)$/m.exec(text)?.[1],
    flags: /^flags: ?(\S*)$/m.exec(text)?.[1],
  };
}

const entry = (arch: Arch) => readFile(`${BINFMT}/${HANDLER[arch]}`, 'utf8').then(parseBinfmtEntry, () => undefined);

/** Can this host execute `arch` programs (arch-test's verdict)? */
async function archTest(arch: Arch): Promise<{ ok: boolean; detail: string }> {
  const r = await execa('arch-test', [debArch(arch)], { reject: false });
  return { ok: r.exitCode === 0, detail: `${String(r.stdout).trim()} ${String(r.stderr).trim()}`.trim() };
}

/**
 * Make sure `arch` programs run here: native, or through a registered
 * binfmt_misc handler (registered now when it is not). Throws an infra
 * error that says what is missing and how to get it.
 */
export async function ensureForeignExec(arch: Arch, log: Logger): Promise<string> {
  if (arch === hostArch()) return 'native';
  let e = await entry(arch);
  if (!e?.enabled) {
    log.step(`binfmt_misc: registering ${HANDLER[arch]} (update-binfmts --enable ${HANDLER[arch]})`);
    const r = await execa('update-binfmts', ['--enable', HANDLER[arch]], { reject: false });
    e = await entry(arch);
    if (!e?.enabled) {
      throw infraError(
        `cannot run ${arch} programs on this host: binfmt_misc has no enabled ${HANDLER[arch]} entry (update-binfmts: ${r.exitCode === 0 ? 'ok' : String(r.stderr).trim() || `exit ${r.exitCode}`})`,
        undefined,
        `mmdebstrap --arch=${debArch(arch)} runs the guest's package scripts through qemu-user: install qemu-user-static and binfmt-support (setup --arch ${arch} does) and make sure ${BINFMT} can be mounted (mount -t binfmt_misc binfmt_misc ${BINFMT}); see docs/arm64.md`,
      );
    }
  }
  const t = await archTest(arch);
  if (!t.ok) throw infraError(`binfmt_misc has ${HANDLER[arch]} (${e.interpreter ?? '?'}), yet ${arch} programs do not run: arch-test says ${t.detail}`, undefined, 'see docs/arm64.md (building the arm64 image)');
  return `binfmt_misc ${HANDLER[arch]} → ${e.interpreter ?? '?'} (flags ${e.flags ?? ''})`;
}
