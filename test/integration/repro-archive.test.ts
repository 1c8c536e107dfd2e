/**
 * Bug reports both ways, for real (3 boots of the lean source-7.2 kernel):
 *
 * 1. `run` the beyond-ram edge case (it WARNs in memmap_init_compound) and the
 *    scenario `new --from-console` makes of the real capture of that WARNING:
 *    the first fails on purpose — symbolized frames, report.txt, an automatic
 *    archive — the second passes because it expects the finding (2 boots).
 * 2. `repro --pack --with-rootfs`: the archive holds no host path and no
 *    private key (every byte of it searched).
 * 3. As another user (uid 65534), in a fresh folder with a fresh cache where
 *    nothing was fetched, the reproduce command pasted from report.txt boots
 *    the archive and reports "reproduced: same finding" (1 boot).
 * 4. Without booting: the archive without a root image checks this install's
 *    image by its packages; a tampered archive is bad input (exit 2).
 */
import t from 'tap';
import { chown, cp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import * as tar from 'tar';
import { bin, cli, root, tempDir } from '../helpers/cli.js';
import { defaultCacheDir } from '../../harness/common/paths.js';

const cache = defaultCacheDir();
const tail = (s: unknown) => String(s).split('\n').slice(-25).join('\n');
const NOBODY = 65534;

/**
 * Needles found in the archive's members, each member's bytes searched as a stream (chunks overlap
 * by the longest needle). `everywhere` needles are searched in every member, the root image too;
 * `textOnly` ones not in image/rootfs.img, where a Debian tree has them for good reasons (ssh
 * binaries print "PRIVATE KEY-----", scripts name /root/).
 */
async function searchArchive(file: string, everywhere: string[], textOnly: string[]): Promise<string[]> {
  const found = new Set<string>();
  const pending: Promise<void>[] = [];
  await tar.t({
    file,
    onReadEntry: (e) => {
      const needles = e.path.endsWith('image/rootfs.img') ? everywhere : [...everywhere, ...textOnly];
      const keep = Math.max(...needles.map((n) => n.length));
      let prev = Buffer.alloc(0);
      e.on('data', (chunk: Buffer) => {
        const buf = Buffer.concat([prev, chunk]);
        for (const n of needles) if (buf.includes(n)) found.add(`${e.path.split('/').slice(1).join('/')}: ${n.length > 60 ? `${n.slice(0, 12)}…` : n}`);
        prev = buf.subarray(Math.max(0, buf.length - keep));
      });
      pending.push(new Promise((r) => e.on('end', () => r())));
    },
  });
  await Promise.all(pending);
  return [...found];
}

let runDir = '';
let caseDir = '';
let results = '';
let work = '';

t.before(async () => {
  results = await tempDir('ramdax-bugreport-');
  work = await tempDir('ramdax-bugreport-work-');
});
t.teardown(async () => {
  // KEEP_BUGREPORT=1 keeps the run and the archives to look at.
  if (process.env.KEEP_BUGREPORT === '1') return console.log(`# kept ${results} ${work}`);
  await rm(results, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

t.test('the source kernel is built (cached: only the builder name changed it)', async (t) => {
  const r = await cli(['kernel', 'build', 'source-7.2'], { timeoutMs: 45 * 60_000 });
  t.equal(r.exitCode, 0, `kernel build exits 0 (${tail(r.stderr)})`);
});

t.test('a case fails on purpose; the scenario made from the real console log reproduces it', async (t) => {
  const fromConsole = join(work, 'from-console.yaml');
  const made = await cli(['new', '--from-console', 'test/fixtures/consoles/real-warning-beyond-ram.log', '--name', 'from-console-beyond-ram', '--out', fromConsole]);
  t.equal(made.exitCode, 0, `new --from-console exits 0 (${tail(made.stderr)})`);
  // npm test turns automatic archives off for the other tests (RAMDAX_HARNESS_PACK_LIMIT=0): here the default limit is on.
  const r = await cli(['run', 'test/fixtures/scenarios/beyond-ram.yaml', fromConsole, '--kernel', 'source-7.2', '--results', results, '--report', 'wait'], { env: { RAMDAX_HARNESS_PACK_LIMIT: String(256 * 2 ** 20) } });
  t.equal(r.exitCode, 1, `exit 1: beyond-ram fails (${tail(r.stderr)})`);
  runDir = join(results, (await readdir(results))[0]!);
  caseDir = join(runDir, 'beyond-ram');
  const json = JSON.parse(await readFile(join(runDir, 'results.json'), 'utf8'));
  const failed = json.cases.find((c: { id: string }) => c.id === 'beyond-ram');
  const expected = json.cases.find((c: { id: string }) => c.id === 'from-console-beyond-ram');
  t.equal(failed.status, 'fail');
  const findings = failed.points.flatMap((p: { findings?: unknown[] }) => p.findings ?? []);
  t.equal(findings[0]?.crashTitle, 'WARNING in memmap_init_compound', 'syzbot-form title');
  // Symbolized frames of a source-built kernel: file:line per frame.
  const sym = findings[0]?.symbolized ?? [];
  const located = sym.filter((s: { locations: unknown[] }) => s.locations.length);
  t.ok(located.length >= 5, `frames with file:line (${located.length} of ${sym.length})`);
  t.ok(located.some((s: { frame: string; locations: { file: string }[] }) => /^RIP: /.test(s.frame) && s.locations.some((l) => l.file === 'mm/internal.h')), 'the WARN site is mm/internal.h');
  t.ok(located.every((s: { locations: { file: string; line: number }[] }) => s.locations.every((l) => /^[a-z][\w/.+-]*\.\w+$/.test(l.file) && l.line > 0)), 'tree-relative file names, no build folder');
  console.log(`# symbolized:\n${located.slice(0, 6).map((s: { frame: string; locations: { fn: string; file: string; line: number }[] }) => `#   ${s.frame} -> ${s.locations.map((l) => `${l.fn} ${l.file}:${l.line}`).join(' < ')}`).join('\n')}`);

  t.equal(expected.status, 'pass', `the from-console scenario passes: the finding it expects happened (${expected.reason ?? ''})`);
  const last = expected.points.at(-1);
  t.equal(last.name, 'expected finding: WARNING in memmap_init_compound');
  t.equal(last.status, 'pass');
  t.ok(failed.files.archive, 'an archive was made automatically');
});

t.test('report.txt: ≤ 80 columns, the sections, symbolized trace, the reproduce command', async (t) => {
  const text = await readFile(join(runDir, 'report.txt'), 'utf8');
  for (const l of text.split('\n')) if (l.length > 80) t.fail(`line over 80 columns: ${l}`);
  t.equal(text.match(/^WARNING in memmap_init_compound$/gm)?.length, 1, 'one block for the finding');
  for (const re of [/^kernel: +7\.2\.\d+/m, /^identity: +debian:linux-source-7\.2/m, /^cmdline: +console=/m, /^ {10}.*memmap=1G!4G$|^cmdline: .*memmap=1G!4G/m, /^failed: +step \d+ 'create devdax namespace/m, /^command: +\S+/m, /Call Trace:/, / mm\/\w+\.[ch]:\d+/, /^ramdax-harness \d+\.\d+\.\d+ \(node v/m]) t.match(text, re);
  t.notMatch(text, new RegExp(cache.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'no cache path');
  const same = await cli(['report', runDir, '--text']);
  t.equal(same.exitCode, 0);
  t.equal(`${String(same.stdout)}\n`, text, 'report --text prints the same');
});

let archive = '';
t.test('repro --pack --with-rootfs: no host path, no private key inside', async (t) => {
  const r = await cli(['repro', '--pack', '--with-rootfs', caseDir, '--out', work]);
  t.equal(r.exitCode, 0, `pack exits 0 (${tail(r.stderr)})`);
  archive = String(r.stdout).trim();
  const entries: string[] = [];
  await tar.t({ file: archive, onReadEntry: (e) => entries.push(e.path) });
  for (const f of ['MANIFEST.json', 'SHA256SUMS', 'kernel/vmlinuz', 'kernel/config', 'qemu-argv.template', 'logs/console.log', 'logs/dmesg.txt', 'findings.json', 'known_hosts', 'image/recipe.json', 'image/packages.txt', 'image/rootfs.img', 'repro.sh', 'report.txt']) {
    t.ok(entries.some((e) => e.endsWith(`/${f}`)), `holds ${f}`);
  }
  const privateKeys = await Promise.all(['harness_ed25519', 'guest_host_ed25519'].map((k) => readFile(join(cache, 'keys', k), 'utf8')));
  // The base64 body lines of each private key, the key markers, and this machine's folders and names.
  const keyLines = privateKeys.flatMap((k) => k.split('\n').filter((l) => /^[A-Za-z0-9+/=]{40,}$/.test(l)));
  const everywhere = [...keyLines, cache, results, work, root, `@${hostname()})`];
  const textOnly = ['PRIVATE KEY-----', `${homedir()}/`, ...(hostname().length >= 4 ? [hostname()] : [])];
  // The search finds what is there: the guest's host name is in known_hosts and in the root image.
  const control = await searchArchive(archive, ['ramdax-guest'], []);
  t.ok(control.includes('known_hosts: ramdax-guest') && control.includes('image/rootfs.img: ramdax-guest'), `the search sees text members and the image (${control.join(', ')})`);
  const found = await searchArchive(archive, everywhere, textOnly);
  t.same(found, [], `none of ${everywhere.length + textOnly.length} needles in the archive (the private key lines, cache/results/work/checkout folders and the host name everywhere, the root image included; the key marker and the home folder in every other member)`);
});

t.test('another user, a fresh cache, nothing fetched: the pasted command reproduces it', async (t) => {
  // A folder inside the checkout (npx finds the harness there), owned by the other user.
  const home = join(root, `.test-bugreport-${process.pid}`);
  t.teardown(() => rm(home, { recursive: true, force: true }));
  await mkdir(home, { recursive: true });
  await cp(archive, join(home, archive.split('/').at(-1)!));
  await execa('chown', ['-R', `${NOBODY}:${NOBODY}`, home]);
  await chown(home, NOBODY, NOBODY);
  const report = await readFile(join(runDir, 'report.txt'), 'utf8');
  // The command may be broken over lines with backslash continuations (≤ 80 columns); bash takes it as pasted.
  const command = /^ {2}(npx ramdax-harness repro(?: \\\n +| )\S+\.tar\.gz)$/m.exec(report)?.[1];
  t.ok(command, 'report.txt names the reproduce command');
  // The archive attached to the mail has the name the report uses.
  const named = command!.split(/\s+/).at(-1)!;
  if (named !== archive.split('/').at(-1)) await cp(archive, join(home, named));
  await execa('chown', ['-R', `${NOBODY}:${NOBODY}`, home]);
  const env = { HOME: home, RAMDAX_HARNESS_CACHE: join(home, 'cache'), RAMDAX_HARNESS_RESULTS: join(home, 'results'), PATH: process.env.PATH!, npm_config_cache: join(home, '.npm'), npm_config_offline: 'true' };
  // The other user runs this checkout's launcher in place of `npx ramdax-harness`: npm 11's npx links a checkout
  // into the user's npx cache and chmods its bin, which a root-owned checkout refuses (EPERM); on another machine
  // the user's own clone is theirs. Everything after the launcher is the pasted command, as it is.
  const pasted = command!.replace(/^npx ramdax-harness\b/, `node ${join(root, 'bin', 'ramdax-harness.js')}`);
  // `env -u NODE_OPTIONS`: tap adds its process-info loader to children's NODE_OPTIONS (it would write into this
  // checkout's .tap/ as the other user); the user's own shell has no such thing.
  const r = await execa('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', '--', 'env', '-u', 'NODE_OPTIONS', 'bash', '-c', pasted], { cwd: home, env, extendEnv: false, reject: false, timeout: 20 * 60_000, stdin: 'ignore' });
  t.equal(r.exitCode, 0, `exit 0 (${tail(r.stderr)})`);
  t.match(String(r.stdout), /^reproduced: same finding 'WARNING in memmap_init_compound'$/m);
  t.match(String(r.stderr), /verified: \d+ files match SHA256SUMS/);
  t.match(String(r.stderr), /root image: the archive's .*this install's SSH keys/);
  t.match(String(r.stderr), /host key: the archive's known_hosts is the packing install's; this install's guest key is pinned/);
  const made = await readdir(join(home, 'cache'));
  t.same(made.filter((d) => ['apt', 'debs', 'sources', 'builds'].includes(d)), [], `nothing was fetched or built (the fresh cache holds ${made.join(', ')})`);
  console.log(`# other user: ${tail(r.stderr).split('\n').filter((l) => /attempt|verified|root image|host key/.test(l)).join('\n# ')}`);
});

t.test('without booting: this install\'s image compared by packages; a tampered archive is refused', async (t) => {
  const json = JSON.parse(await readFile(join(runDir, 'results.json'), 'utf8'));
  const auto = join(runDir, json.cases.find((c: { id: string }) => c.id === 'beyond-ram').files.archive);
  const fresh = join(work, 'cache-2');
  const keys = join(fresh, 'keys');
  await mkdir(keys, { recursive: true });
  // The install's own image is what this cache offers (its keys belong to it).
  await cp(join(cache, 'keys'), keys, { recursive: true });
  await mkdir(join(fresh, 'images'));
  await cp(join(cache, 'images', 'default.current.json'), join(fresh, 'images', 'default.current.json'));
  const ok = await cli(['repro', auto, '--unpack-only', '--cache', fresh]);
  t.equal(ok.exitCode, 0, `unpack-only exits 0 (${tail(ok.stderr)})`);
  t.match(String(ok.stderr), /root image: this install's 'default', same installed packages/);
  t.match(String(ok.stderr), /host key: the guest presents the archive's pinned key \(same install\)/);
  const dir = String(ok.stdout).trim();
  t.match(await readFile(join(dir, 'local.env'), 'utf8'), /^ROOTFS=.*\nSSH_KEY=.*\nKNOWN_HOSTS=.*known_hosts\.local\n$/);

  // Tampered: one byte of the kernel config changed, archive rebuilt.
  const x = join(work, 'tamper');
  await mkdir(x, { recursive: true });
  await tar.x({ file: auto, cwd: x });
  const top = (await readdir(x))[0]!;
  const config = join(x, top, 'kernel', 'config');
  await writeFile(config, `${await readFile(config, 'utf8')}# changed\n`);
  const bad = join(work, 'tampered.tar.gz');
  await tar.c({ gzip: true, cwd: x, file: bad }, [top]);
  const r = await cli(['repro', bad, '--unpack-only', '--cache', join(work, 'cache-3')]);
  t.equal(r.exitCode, 2, 'exit 2');
  t.match(String(r.stderr), /kernel\/config is corrupted \(sha256/);
});

void bin;
