/**
 * The device tree an arm64 guest boots with: QEMU's own tree for the machine
 * (`-machine virt,dumpdtb=`), decompiled with dtc, the harness's edits
 * appended (vm/dtb-plan.ts), compiled again. Cached by content: the QEMU
 * version, the dump command and the edits decide the file.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { infraError } from '../common/errors.js';
import { host } from '../common/exec.js';
import { exists } from '../common/fs.js';
import { sha256, sha256File } from '../common/hash.js';
import { dtsEdits, type DtbPlan } from './dtb-plan.js';
import { dumpDtbArgv, type DtbMachine } from './qemu-args.js';

export interface DtbArtifact {
  /** The compiled tree passed with -dtb. */
  path: string;
  sha256: string;
  /** The same tree as source (QEMU's tree with the edits merged), for people. */
  dts: string;
  /** What the harness added, as DTS. */
  edits: string;
}

const versions = new Map<string, Promise<string>>();
function qemuVersion(binary: string): Promise<string> {
  let v = versions.get(binary);
  if (!v) {
    v = execa(binary, ['--version'], { reject: false }).then((r) => (r.exitCode === 0 ? String(r.stdout).split('\n')[0]! : ''));
    versions.set(binary, v);
  }
  return v;
}

/** Root `#address-cells` and `#size-cells` of a decompiled tree: dtc prints the root's properties before any node. */
export function rootCells(dts: string): { address?: number; size?: number } {
  const head = dts.slice(0, dts.search(/^\t\S[^\n]*\{\s*$/m) >>> 0);
  const n = (name: string) => {
    const m = new RegExp(`^\\t${name} = <(0x[0-9a-f]+|\\d+)>;`, 'm').exec(head);
    return m ? Number(m[1]) : undefined;
  };
  return { address: n('#address-cells'), size: n('#size-cells') };
}

/** Build (or find in the cache) the DTB for this machine and these carve-outs. */
export async function ensureDtb(o: { cacheDir: string; qemu: string; machine: DtbMachine; plan: DtbPlan }): Promise<DtbArtifact> {
  const version = await qemuVersion(o.qemu);
  if (!version) throw infraError(`${o.qemu} does not run: it writes the arm64 guest's device tree`, undefined, 'run `npx ramdax-harness setup --arch arm64` (installs qemu-system-arm and device-tree-compiler)');
  const edits = dtsEdits(o.plan);
  const key = sha256('dtb-v1', version, JSON.stringify(dumpDtbArgv(o.machine, 'OUT')), edits).slice(0, 16);
  const dir = join(o.cacheDir, 'dtb', key);
  const art = { path: join(dir, 'guest.dtb'), dts: join(dir, 'guest.dts'), edits };
  if (await exists(art.path)) return { ...art, sha256: await sha256File(art.path) };

  const work = `${dir}.partial-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  await mkdir(work, { recursive: true });
  try {
    await host(o.qemu, dumpDtbArgv(o.machine, join(work, 'qemu.dtb')));
    const base = await dtc(['-I', 'dtb', '-O', 'dts', join(work, 'qemu.dtb')]);
    const cells = rootCells(base);
    if (cells.address !== 2 || cells.size !== 2) throw infraError(`QEMU's device tree has #address-cells ${cells.address} and #size-cells ${cells.size} at its root; the harness writes 64-bit (2-cell) addresses and sizes`);
    await writeFile(join(work, 'merged.dts'), `${base}\n${edits}`);
    await dtc(['-I', 'dts', '-O', 'dtb', '-o', join(work, 'guest.dtb'), join(work, 'merged.dts')]);
    // The merged source, as dtc sees it: QEMU's nodes with the harness's properties folded in.
    await writeFile(join(work, 'guest.dts'), await dtc(['-I', 'dtb', '-O', 'dts', join(work, 'guest.dtb')]));
    await writeFile(join(work, 'edits.dts'), edits);
    await rm(join(work, 'merged.dts'));
    await rename(work, dir).catch(async (err) => {
      // Another run built the same tree meanwhile: theirs is as good.
      if (!(await exists(art.path))) throw err;
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return { ...art, sha256: await sha256File(art.path) };
}

/** dtc with its warnings about QEMU's numeric phandle references silenced; stdout is the result. */
async function dtc(args: string[]): Promise<string> {
  try {
    return (await host('dtc', ['-q', ...args])).stdout;
  } catch (err) {
    if ((await execa('sh', ['-c', 'command -v dtc'], { reject: false })).exitCode !== 0) {
      throw infraError('dtc is not installed: it writes the arm64 guest\'s device tree', err, 'run `npx ramdax-harness setup --arch arm64` (installs device-tree-compiler)');
    }
    throw err;
  }
}

