/**
 * `repro --pack`: one tar.gz holding what another machine needs to boot the
 * failing case again — kernel, initrd/modules disk, .config, scenario and
 * expanded case, QEMU argv as a template, console, dmesg, findings, the guest
 * host key as a known_hosts line, the root image by recipe + package list
 * (and, with --with-rootfs, a key-less copy). No private key, no host path:
 * every text file is scanned for this machine's paths and names before the
 * archive is written.
 */
import { listFiles } from '../common/fs.js';
import { copyFile, link, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, hostname, tmpdir, userInfo } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import * as tar from 'tar';
import { parse, stringify } from 'yaml';
import { loadCatalog } from '../catalog/catalog.js';
import { infraError, inputError } from '../common/errors.js';
import { exists } from '../common/fs.js';
import { sha256File } from '../common/hash.js';
import type { Logger } from '../common/log.js';
import { projectRoot } from '../common/paths.js';
import { readRun } from '../results/read.js';
import { renderText } from './text.js';
import type { KernelArtifact } from '../setup/artifacts.js';
import { keyPaths } from '../setup/keys.js';
import { buildPortableImage, imagePackages, imageRecipe, packagesSha256 } from '../setup/portable-image.js';
import { titleFor } from '../triage/findings.js';
import { archiveName, archiveReadme, archiveReproScript, argvTemplate, caseFindings, FORMAT, knownHostsLine, type ArchiveManifest } from '../results/archive-format.js';
import type { CaseResult, RunResult } from '../model/results.js';

/** Archives made automatically for failing cases stay under this many bytes of input (kernel, disks, logs). */
export const AUTO_PACK_LIMIT = Number(process.env.RAMDAX_HARNESS_PACK_LIMIT ?? 256 * 2 ** 20);

export interface PackOptions {
  runDir: string;
  caseId: string;
  cacheDir: string;
  withRootfs?: boolean;
  /** Folder for the archive (default: the run folder). */
  outDir?: string;
  log: Logger;
}

/** The argument after `flag` in a QEMU argv. */
const argAfter = (argv: readonly string[], flag: string) => argv[argv.indexOf(flag) + 1];
const drivePath = (a: string) => /^file=((?:[^,]|,,)*)/.exec(a)?.[1]?.replaceAll(',,', ',');

/** The kernel, initrd and disks a case booted, read back from its QEMU argv. */
export function bootFiles(argv: readonly string[]): { vmlinuz?: string; initrd?: string; modules?: string; root?: string } {
  const drives = argv.filter((_, i) => argv[i - 1] === '-drive');
  return {
    vmlinuz: argv.includes('-kernel') ? argAfter(argv, '-kernel') : undefined,
    initrd: argv.includes('-initrd') ? argAfter(argv, '-initrd') : undefined,
    modules: drives.map(drivePath).find((p) => p?.endsWith('/modules.img')),
    root: drives.map(drivePath)[0],
  };
}

/** This machine's names and folders: none may appear in an archive. */
export function privateNeedles(o: { cacheDir: string; runDir: string }): string[] {
  const user = userInfo().username;
  const host = hostname();
  return [
    resolve(o.cacheDir),
    resolve(o.runDir),
    resolve(dirname(o.runDir)),
    projectRoot,
    // With the slash: '/root' alone is part of 'image/rootfs.img'. Root's home is also the
    // guest's, which scenarios write to (/root/labels.random): for root, the specific paths above stand.
    homedir() === '/root' ? '' : `${homedir().replace(/\/$/, '')}/`,
    tmpdir() === '/tmp' ? '' : tmpdir(),
    // Short or generic names (root, vm) would match ordinary words; they are checked where they would appear: user@host.
    ...(user.length >= 4 && user !== 'root' ? [user] : []),
    ...(host.length >= 4 ? [host] : [`@${host})`, `@${host} `]),
  ].filter((n) => n && n !== '/');
}

const TEXT = /\.(json|txt|log|yaml|yml|sh|template)$|^(SHA256SUMS|known_hosts|README\.txt)$/;

/** Text files of a staged archive that name this machine, with what they name. */
export async function scanForNeedles(dir: string, needles: string[]): Promise<string[]> {
  const hits: string[] = [];
  for (const f of await listFiles(dir)) {
    if (!TEXT.test(basename(f))) continue;
    const text = await readFile(join(dir, f), 'utf8');
    for (const n of needles) if (text.includes(n)) hits.push(`${f}: ${n}`);
    if (/PRIVATE KEY-----/.test(text)) hits.push(`${f}: a private key`);
  }
  return hits;
}

/** A hard link when the cache and the run folder share a file system (no copy of 100+ MB), else a copy. */
async function linkOrCopy(src: string, dest: string): Promise<void> {
  try {
    await link(src, dest);
  } catch {
    await copyFile(src, dest);
  }
}

/** The kernel manifest beside a vmlinuz (debian/source/local artifacts all keep one). */
async function kernelManifest(vmlinuz: string): Promise<KernelArtifact | undefined> {
  try {
    return JSON.parse(await readFile(join(dirname(vmlinuz), 'manifest.json'), 'utf8')) as KernelArtifact;
  } catch {
    return undefined;
  }
}

export async function findCase(runDir: string, caseId: string): Promise<{ run: RunResult; c: CaseResult }> {
  const run = await readRun(runDir);
  const c = run.cases.find((x) => x.id === caseId);
  if (!c) throw inputError(`${runDir}: no case '${caseId}' (cases: ${run.cases.map((x) => x.id).join(', ')})`);
  return { run, c };
}

/** Bytes the archive's inputs take (kernel files and logs; the root image only with --with-rootfs). */
export async function packInputBytes(c: CaseResult): Promise<number> {
  const f = bootFiles(c.qemuArgv ?? []);
  let n = 0;
  for (const p of [f.vmlinuz, f.initrd, f.modules]) if (p) n += await stat(p).then((s) => s.blocks * 512, () => 0);
  return n;
}

/** Write the archive of one failed case; returns its path (in the run folder unless outDir). */
export async function packCase(o: PackOptions): Promise<{ file: string; bytes: number; notes: string[] }> {
  const { run, c } = await findCase(o.runDir, o.caseId);
  if (c.status !== 'fail' && c.status !== 'error') throw inputError(`case '${c.id}' did not fail (${c.status}): nothing to reproduce`);
  const argv = c.qemuArgv ?? [];
  const files = bootFiles(argv);
  if (!files.vmlinuz || !c.kernel || !c.image) throw inputError(`case '${c.id}' has no recorded boot (kernel, image, QEMU argv): it cannot be packed`);
  const notes: string[] = [];
  const name = archiveName(run.runId, c.id);
  const outDir = o.outDir ?? o.runDir;
  const staging = join(outDir, `.${name}.staging`);
  const top = join(staging, name);
  await rm(staging, { recursive: true, force: true });
  await mkdir(top, { recursive: true });
  try {
    // Kernel: the exact files the case booted, checked against the hashes it recorded.
    const kdir = join(top, 'kernel');
    await mkdir(kdir);
    const kfiles: Record<string, string> = {};
    for (const [role, p] of [['vmlinuz', files.vmlinuz], ['initrd.img', files.initrd], ['modules.img', files.modules]] as const) {
      if (!p) continue;
      if (!(await exists(p))) throw infraError(`${role} of case '${c.id}' is gone from the cache (${p}): the archive cannot be made`);
      const want = c.kernel.sha256[role];
      const got = await sha256File(p);
      if (want && got !== want) throw infraError(`${p} is not the ${role} case '${c.id}' booted (sha256 ${got.slice(0, 16)}…, recorded ${want.slice(0, 16)}…)`);
      await linkOrCopy(p, join(kdir, role));
      kfiles[`kernel/${role}`] = role;
    }
    const km = await kernelManifest(files.vmlinuz);
    if (km?.config && (await exists(km.config))) {
      await copyFile(km.config, join(kdir, 'config'));
      kfiles['kernel/config'] = 'config';
    } else notes.push('no kernel .config was recorded for this kernel');

    // Scenario: the file as the case ran it (the repro/ bundle keeps a copy), and the expanded case.
    await mkdir(join(top, 'scenario'));
    const scenarioSrc = c.files.repro && (await exists(join(o.runDir, c.files.repro, 'scenario.yaml'))) ? join(o.runDir, c.files.repro, 'scenario.yaml') : c.file;
    const scenarioFile = `scenario/${basename(c.file)}`;
    await copyFile(scenarioSrc, join(top, scenarioFile));
    const expanded = c.files.repro ? join(o.runDir, c.files.repro, 'expanded-scenario.yaml') : undefined;
    if (expanded && (await exists(expanded))) {
      // The expanded case names the scenario file by its path on this machine: the archive's own path instead.
      const doc = parse(await readFile(expanded, 'utf8')) as Record<string, unknown>;
      await writeFile(join(top, 'scenario', 'case.yaml'), stringify({ ...doc, file: scenarioFile }));
    }

    // Logs and findings.
    await mkdir(join(top, 'logs'));
    for (const [key, out] of [['console', 'console.log'], ['dmesg', 'dmesg.txt'], ['commands', 'commands.log']] as const) {
      const rel = c.files[key];
      if (rel && (await exists(join(o.runDir, rel)))) await copyFile(join(o.runDir, rel), join(top, 'logs', out));
    }
    const findings = caseFindings(c);
    await writeFile(join(top, 'findings.json'), `${JSON.stringify(findings.map((f) => ({ ...f, crashTitle: titleFor(f) })), null, 2)}\n`);

    // Image: recipe and installed packages; the key-less image itself on request.
    const catalog = await loadCatalog();
    const def = catalog.images.get(c.image.name);
    if (!def) throw inputError(`image '${c.image.name}' is not defined in images/ any more: its recipe cannot be recorded`);
    const recipe = await imageRecipe(def);
    await mkdir(join(top, 'image'));
    const pkgs = c.image.rootfs && (await exists(c.image.rootfs)) ? await imagePackages(c.image.rootfs) : [];
    if (!pkgs.length) notes.push('the image the case ran on is gone: no package list recorded');
    await writeFile(join(top, 'image', 'recipe.json'), `${JSON.stringify(recipe, null, 2)}\n`);
    await writeFile(join(top, 'image', 'packages.txt'), pkgs.map((p) => `${p}\n`).join(''));
    let portable: ArchiveManifest['image']['portable'];
    if (o.withRootfs) {
      o.log.step(`repro --pack: building the key-less root image for ${c.id}`);
      await buildPortableImage(def, o.cacheDir, join(top, 'image', 'rootfs.img'));
      portable = { file: 'image/rootfs.img', sha256: await sha256File(join(top, 'image', 'rootfs.img')) };
      const portablePkgs = await imagePackages(join(top, 'image', 'rootfs.img'));
      if (pkgs.length && packagesSha256(portablePkgs) !== packagesSha256(pkgs)) notes.push('the included image was rebuilt from a newer tree than the one the case ran on: its packages differ');
    }

    // QEMU argv without this machine's paths.
    const needles = privateNeedles({ cacheDir: o.cacheDir, runDir: o.runDir });
    const paths: Record<string, string> = { [files.vmlinuz]: '@KERNEL@' };
    if (files.initrd) paths[files.initrd] = '@INITRD@';
    if (files.modules) paths[files.modules] = '@MODULES@';
    if (files.root && c.image.rootfs) paths[c.image.rootfs] = '@ROOTFS@';
    const { template, leftovers } = argvTemplate(argv, paths, needles);
    if (leftovers.length) notes.push(`QEMU arguments with other host paths were replaced by @HOSTPATH@: ${leftovers.length}`);
    await writeFile(join(top, 'qemu-argv.template'), `${template.join('\n')}\n`);
    await writeFile(join(top, 'cmdline.txt'), `${c.cmdline ?? ''}\n`);
    await writeFile(join(top, 'known_hosts'), `${knownHostsLine(await readFile(keyPaths(o.cacheDir).hostPub, 'utf8'))}\n`);

    const failed = c.points.find((p) => p.status === c.status) ?? c.points.find((p) => p.status === 'fail' || p.status === 'error');
    const m: ArchiveManifest = {
      format: FORMAT,
      createdAt: new Date().toISOString(),
      caseId: c.id,
      runId: run.runId,
      scenario: { name: c.scenario, file: scenarioFile },
      outcome: {
        status: c.status,
        point: failed && { id: failed.id, name: failed.name, kind: failed.kind, status: failed.status, reason: failed.reason, commands: (failed.commands ?? []).map((x) => x.command) },
        findings: [...new Set(findings.map(titleFor))],
      },
      kernel: { name: c.kernel.name, release: c.kernel.release, source: c.kernel.source, kind: c.kernel.kind ?? 'debian', ramdax: c.kernel.ramdax, capabilities: c.kernel.capabilities, packages: km?.packages, files: kfiles, sha256: {} },
      image: { name: c.image.name, recipe, packagesSha256: packagesSha256(pkgs), installSha256: c.image.sha256, ...(portable ? { portable } : {}) },
      machine: c.machine,
      accel: c.accel,
      cmdline: c.cmdline ?? '',
      qemu: { version: run.qemu, template: 'qemu-argv.template' },
      knownHosts: 'known_hosts',
      harness: run.harness,
      notes,
    };
    for (const f of Object.keys(kfiles)) m.kernel.sha256[kfiles[f]!] = await sha256File(join(top, f));
    const single: RunResult = { ...run, cases: [{ ...c, files: { ...c.files, archive: `${name}.tar.gz` } }] };
    await writeFile(join(top, 'report.txt'), renderText(single));
    await writeFile(join(top, 'MANIFEST.json'), `${JSON.stringify(m, null, 2)}\n`);
    await writeFile(join(top, 'repro.sh'), archiveReproScript(m), { mode: 0o755 });
    await writeFile(join(top, 'README.txt'), archiveReadme(m, name));
    const sums: string[] = [];
    for (const f of await listFiles(top)) sums.push(`${await sha256File(join(top, f))}  ${f}`);
    await writeFile(join(top, 'SHA256SUMS'), `${sums.join('\n')}\n`);

    const hits = await scanForNeedles(top, needles);
    if (hits.length) throw infraError(`the archive would name this machine (refused): ${hits.slice(0, 5).join('; ')}`);
    const builder = /Linux version \S+ \(([^)@\s]+@[^)\s]+)\)/.exec(await readFile(join(top, 'logs', 'console.log'), 'utf8').catch(() => ''))?.[1];
    if (builder === `${userInfo().username}@${hostname()}`) notes.push(`the kernel image names this machine as its builder (${builder}): rebuild it with this harness (it builds as ramdax@ramdax-harness) before sending the archive`);

    const file = join(outDir, `${name}.tar.gz`);
    // The kernel files are mostly compressed already (bzImage, .ko.xz): a fast level; the root image compresses well.
    await tar.c({ gzip: { level: o.withRootfs ? 6 : 1 }, cwd: staging, portable: true, file: `${file}.partial` }, [name]);
    await rename(`${file}.partial`, file);
    const bytes = (await stat(file)).size;
    return { file, bytes, notes };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
