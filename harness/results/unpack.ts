/**
 * The receiving side of a reproducer archive: unpack into this machine's
 * cache, check every sha256, and make the archived kernel and a root image
 * with THIS install's keys bootable by the normal runner. Nothing is fetched:
 * the kernel, initrd and modules disk come from the archive; the root image
 * from the archive (`--with-rootfs`, key-less: this install's keys are
 * written into a copy) or from this install's own setup, compared by its
 * installed packages with the packing machine's.
 */
import { listFiles } from '../common/fs.js';
import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tar from 'tar';
import { loadCatalog, type Catalog } from '../catalog/catalog.js';
import { infraError, inputError } from '../common/errors.js';
import { exists } from '../common/fs.js';
import { sha256, sha256File } from '../common/hash.js';
import type { Logger } from '../common/log.js';
import { quote } from '../common/shell-quote.js';
import { withoutAxis } from '../matrix/kernel-axis.js';
import type { Case } from '../matrix/case.js';
import { loadScenarioFile } from '../scenario/load.js';
import { currentImage, writeManifest, type ImageArtifact, type KernelArtifact } from '../setup/artifacts.js';
import { ensureKeys, type KeyPaths } from '../setup/keys.js';
import { imagePackages, packageDiff, packagesSha256, personalizeImage } from '../setup/portable-image.js';
import { FORMAT, knownHostsLine, type ArchiveManifest } from './archive-format.js';

export interface Unpacked {
  dir: string;
  manifest: ArchiveManifest;
  kernelName: string;
  imageName: string;
  keys: KeyPaths;
  /** What was checked and found, one line each (printed by `repro`). */
  lines: string[];
  imageDiffers: boolean;
}

/** Files the receiving side writes into an unpacked archive (not covered by SHA256SUMS). */
const LOCAL = new Set(['local.env', 'known_hosts.local', '.verified']);

/** SHA256SUMS lines → file → sha256; a malformed line is reported (pure). */
export function parseSums(text: string): { sums: Map<string, string>; bad: string[] } {
  const sums = new Map<string, string>();
  const bad: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!m || m[2]!.startsWith('/') || m[2]!.split('/').includes('..')) bad.push(line);
    else sums.set(m[2]!, m[1]!);
  }
  return { sums, bad };
}

/** Unpack (once per archive content) into CACHE/repro/<sha>/ and verify every file against SHA256SUMS. */
export async function unpackArchive(archive: string, cacheDir: string, log: Logger): Promise<{ dir: string; manifest: ArchiveManifest; lines: string[] }> {
  if (!(await exists(archive))) throw inputError(`${archive}: no such file`);
  const archiveSha = await sha256File(archive);
  const root = join(cacheDir, 'repro', archiveSha.slice(0, 16));
  const lines = [`archive ${archive}: sha256 ${archiveSha}`];
  if (!(await exists(join(root, '.unpacked')))) {
    const work = `${root}.partial`;
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    log.step(`repro: unpacking ${archive} into ${root}`);
    const refused: string[] = [];
    try {
      await tar.x({
        file: archive,
        cwd: work,
        strict: true,
        // Regular files and folders only: no links, devices or absolute paths out of an archive from elsewhere.
        filter: (path, entry) => {
          const type = (entry as { type?: string }).type;
          const ok = (type === 'File' || type === 'Directory' || type === 'OldFile' || type === 'ContiguousFile') && !path.startsWith('/') && !path.split('/').includes('..');
          if (!ok) refused.push(`${path} (${type})`);
          return ok;
        },
      });
    } catch (err) {
      throw inputError(`${archive}: not a readable tar.gz reproducer archive (${(err as Error).message})`);
    }
    if (refused.length) throw inputError(`${archive}: holds entries a reproducer archive never has: ${refused.slice(0, 3).join(', ')}`);
    const tops = await readdir(work);
    if (tops.length !== 1) throw inputError(`${archive}: expected one top folder, found ${tops.length}`);
    await rm(root, { recursive: true, force: true });
    await rename(join(work, tops[0]!), root);
    await rm(work, { recursive: true, force: true });
    await writeFile(join(root, '.unpacked'), archiveSha);
  }
  let manifest: ArchiveManifest;
  try {
    manifest = JSON.parse(await readFile(join(root, 'MANIFEST.json'), 'utf8')) as ArchiveManifest;
  } catch {
    throw inputError(`${archive}: no readable MANIFEST.json: not a ramdax-harness reproducer archive`);
  }
  if (manifest.format !== FORMAT) throw inputError(`${archive}: format '${String(manifest.format)}', this harness reads ${FORMAT}`);
  const sumsText = await readFile(join(root, 'SHA256SUMS'), 'utf8').catch(() => {
    throw inputError(`${archive}: no SHA256SUMS`);
  });
  const { sums, bad } = parseSums(sumsText);
  if (bad.length) throw inputError(`${archive}: SHA256SUMS has malformed lines: ${bad[0]}`);
  const present = (await listFiles(root)).filter((f) => f !== 'SHA256SUMS' && !LOCAL.has(f) && !f.startsWith('.'));
  const unlisted = present.filter((f) => !sums.has(f));
  if (unlisted.length) throw inputError(`${archive}: ${unlisted.join(', ')} not in SHA256SUMS`);
  for (const [f, want] of sums) {
    if (!(await exists(join(root, f)))) throw inputError(`${archive}: ${f} is listed in SHA256SUMS but missing`);
    const got = await sha256File(join(root, f));
    if (got !== want) throw inputError(`${archive}: ${f} is corrupted (sha256 ${got}, SHA256SUMS says ${want})`);
  }
  // The manifest's own hashes must agree with the files it names.
  for (const [path, role] of Object.entries(manifest.kernel.files)) {
    if (sums.get(path) !== manifest.kernel.sha256[role]) throw inputError(`${archive}: ${path} does not have the sha256 MANIFEST.json records for the ${role}`);
  }
  if (manifest.image.portable && sums.get(manifest.image.portable.file) !== manifest.image.portable.sha256) throw inputError(`${archive}: the root image does not have the sha256 MANIFEST.json records`);
  lines.push(`verified: ${sums.size} files match SHA256SUMS (kernel ${manifest.kernel.release}: vmlinuz sha256 ${manifest.kernel.sha256.vmlinuz ?? '?'})`);
  return { dir: root, manifest, lines };
}

/** Make the archived kernel a cached kernel of this machine (`repro-<vmlinuz sha>`), like setup does for others. */
async function installKernel(dir: string, m: ArchiveManifest, cacheDir: string): Promise<string> {
  const name = `repro-${(m.kernel.sha256.vmlinuz ?? sha256(m.kernel.release)).slice(0, 12)}`;
  const kroot = join(cacheDir, 'kernels', name);
  const kdir = join(kroot, m.kernel.release);
  const path = (role: string) => join(kdir, role);
  await mkdir(kdir, { recursive: true });
  for (const [file, role] of Object.entries(m.kernel.files)) {
    if (!(await exists(path(role))) || (await sha256File(path(role))) !== m.kernel.sha256[role]) await copyFile(join(dir, file), path(role));
  }
  const roles = new Set(Object.values(m.kernel.files));
  const artifact: KernelArtifact = {
    name,
    release: m.kernel.release,
    source: `${m.kernel.source} (from reproducer archive of ${m.caseId}, run ${m.runId})`,
    packages: m.kernel.packages ?? [],
    dir: kdir,
    vmlinuz: path('vmlinuz'),
    ...(roles.has('initrd.img') ? { initrd: path('initrd.img') } : {}),
    ...(roles.has('modules.img') ? { modulesDisk: path('modules.img') } : {}),
    ...(roles.has('config') ? { config: path('config') } : {}),
    sha256: Object.fromEntries(Object.entries(m.kernel.sha256).filter(([r]) => r !== 'config')),
    ramdax: m.kernel.ramdax as KernelArtifact['ramdax'],
    createdAt: new Date().toISOString(),
    kind: m.kernel.kind as KernelArtifact['kind'],
    capabilities: m.kernel.capabilities as KernelArtifact['capabilities'],
  };
  await writeManifest(join(kdir, 'manifest.json'), artifact);
  await writeManifest(join(kroot, 'current.json'), artifact);
  return name;
}

/** The root image to boot: the archive's key-less one with this install's keys, or this install's own (compared). */
async function prepareImage(dir: string, m: ArchiveManifest, cacheDir: string, keys: KeyPaths, lines: string[]): Promise<{ name: string; differs: boolean }> {
  const expected = (await readFile(join(dir, 'image', 'packages.txt'), 'utf8')).split('\n').filter(Boolean);
  if (m.image.portable) {
    const keyId = sha256(await readFile(keys.hostKey), await readFile(keys.clientPub)).slice(0, 8);
    const name = `repro-${m.image.portable.sha256.slice(0, 12)}-${keyId}`;
    const idir = join(cacheDir, 'images', name);
    const rootfs = join(idir, 'rootfs.img');
    if (!(await exists(join(idir, 'manifest.json')))) {
      await rm(idir, { recursive: true, force: true });
      await mkdir(idir, { recursive: true });
      await personalizeImage(join(dir, m.image.portable.file), rootfs, keys);
      const art: ImageArtifact = { name, dir: idir, rootfs, sha256: await sha256File(rootfs), suite: m.image.recipe.suite, packages: m.image.recipe.packages, createdAt: new Date().toISOString() };
      await writeManifest(join(idir, 'manifest.json'), art);
    }
    await writeManifest(join(cacheDir, 'images', `${name}.current.json`), JSON.parse(await readFile(join(idir, 'manifest.json'), 'utf8')));
    lines.push(`root image: the archive's (sha256 ${m.image.portable.sha256.slice(0, 16)}…, no keys inside), with this install's SSH keys written into a copy`);
    const portablePkgs = await imagePackages(rootfs);
    const diff = expected.length ? packageDiff(portablePkgs, expected) : [];
    if (diff.length) lines.push(`root image DIFFERS from the one the case failed on: ${diff.length} package(s): ${diff.slice(0, 5).join('; ')}`);
    return { name, differs: diff.length > 0 };
  }
  const own = await currentImage(cacheDir, m.image.name).catch(() => {
    throw infraError(
      `the archive has no root image and this install has no image '${m.image.name}'`,
      undefined,
      `run \`npx ramdax-harness setup\` (it builds '${m.image.name}' from its recipe; the archive's is in image/recipe.json), or ask for an archive made with \`repro --pack --with-rootfs\``,
    );
  });
  const here = await imagePackages(own.rootfs);
  const same = packagesSha256(here) === m.image.packagesSha256;
  const catalog = await loadCatalog().catch(() => undefined);
  const def = catalog?.images.get(m.image.name);
  const recipeNote = def && (def.suite !== m.image.recipe.suite || [...def.packages].sort().join(',') !== m.image.recipe.packages.join(',')) ? ' (its recipe differs too: see image/recipe.json)' : '';
  if (same) lines.push(`root image: this install's '${m.image.name}', same installed packages as the packing machine's (sha256 ${m.image.packagesSha256.slice(0, 16)}…)`);
  else {
    const diff = packageDiff(here, expected);
    lines.push(`root image DIFFERS: this install's '${m.image.name}' has other packages than the one the case failed on${recipeNote}: ${diff.length} difference(s)${diff.length ? `: ${diff.slice(0, 5).join('; ')}` : ''}; for the identical image ask for an archive made with --with-rootfs`);
  }
  return { name: m.image.name, differs: !same };
}

/** Unpack, verify, install kernel and image; write local.env and known_hosts.local for repro.sh. */
export async function receiveArchive(archive: string, cacheDir: string, log: Logger): Promise<Unpacked> {
  const { dir, manifest: m, lines } = await unpackArchive(archive, cacheDir, log);
  const keys = await ensureKeys(cacheDir, log);
  const kernelName = await installKernel(dir, m, cacheDir);
  lines.push(`kernel: ${m.kernel.release} from the archive, as '${kernelName}'`);
  const image = await prepareImage(dir, m, cacheDir, keys, lines);
  const imageArt = await currentImage(cacheDir, image.name);
  // The guest presents this install's host key (its image was made with it): that key is pinned.
  const localHosts = knownHostsLine(await readFile(keys.hostPub, 'utf8'));
  const archived = (await readFile(join(dir, 'known_hosts'), 'utf8')).trim();
  await writeFile(join(dir, 'known_hosts.local'), `${localHosts}\n`);
  lines.push(
    archived === localHosts
      ? 'host key: the guest presents the archive\'s pinned key (same install)'
      : "host key: the archive's known_hosts is the packing install's; this install's guest key is pinned instead (known_hosts.local: the image booted here carries it)",
  );
  await writeFile(join(dir, 'local.env'), `ROOTFS=${quote(imageArt.rootfs)}\nSSH_KEY=${quote(keys.clientKey)}\nKNOWN_HOSTS=${quote(join(dir, 'known_hosts.local'))}\n`);
  return { dir, manifest: m, kernelName, imageName: image.name, keys, lines, imageDiffers: image.differs };
}

/** The archived case, loaded from its scenario file with the archive's kernel and image in place of the named ones. */
export async function archivedCase(u: Unpacked, catalog?: Catalog): Promise<Case> {
  const cat = catalog ?? (await loadCatalog());
  const kernels = new Map(cat.kernels);
  const images = new Map(cat.images);
  // The scenario names its own kernel and image; here they are the archive's, whatever this checkout defines.
  const src = (await readFile(join(u.dir, u.manifest.scenario.file), 'utf8'));
  const named = /^kernel:\s*(\S+)/m.exec(src)?.[1];
  const namedImage = /^image:\s*(\S+)/m.exec(src)?.[1];
  const anyKernel = [...cat.kernels.values()][0];
  const anyImage = [...cat.images.values()][0];
  for (const n of [named, u.manifest.kernel.name, 'debian-7.2']) if (n && !kernels.has(n) && anyKernel) kernels.set(n, { ...anyKernel, name: n });
  for (const n of [namedImage, u.manifest.image.name]) if (n && !images.has(n) && anyImage) images.set(n, { ...anyImage, name: n });
  const cases = await loadScenarioFile(join(u.dir, u.manifest.scenario.file), { kernels, images });
  const want = [u.manifest.caseId, withoutAxis(u.manifest.caseId, 'kernel')];
  const s = cases.find((x) => want.includes(x.id));
  if (!s) throw inputError(`${u.manifest.scenario.file} in the archive has no case '${u.manifest.caseId}' (cases: ${cases.map((x) => x.id).join(', ')})`);
  return { id: u.manifest.caseId, scenario: { ...s, id: u.manifest.caseId, kernel: u.kernelName, image: u.imageName } };
}
