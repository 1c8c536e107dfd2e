/**
 * Kernel build tools (flex, bison, libelf-dev, …): installed with apt when
 * the harness may, else an exit-3 error naming every missing package before
 * anything is unpacked. The pure decision with an injected host, then the
 * real CLI as an unprivileged user whose PATH has no flex or bison.
 */
import t from 'tap';
import { execa } from 'execa';
import { chmod, chown, mkdir, readdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { BUILD_PACKAGES, ensureBuildTools, type BuildProbe } from '../../harness/setup/host-packages.js';
import { HarnessError } from '../../harness/common/errors.js';
import { silentLogger } from '../../harness/common/log.js';
import { bin, root, tempDir } from '../helpers/cli.js';

/** A host where the given packages are missing until `installed` holds them. */
function fakeHost(missing: string[]) {
  const installed = new Set<string>();
  const probe: BuildProbe = async (p) => {
    const pkg = BUILD_PACKAGES.find((b) => b.probe === p)!.pkg;
    return !missing.includes(pkg) || installed.has(pkg);
  };
  return { probe, installed };
}

t.test('without apt: exit 3 naming every missing package, nothing installed', async (t) => {
  const h = fakeHost(['flex', 'bison', 'libelf-dev']);
  let asked: string[] | undefined;
  const err = await ensureBuildTools(silentLogger, { probe: h.probe, canApt: async () => false, installer: async (_l, p) => void (asked = p) }).catch((e: unknown) => e);
  t.ok(err instanceof HarnessError);
  t.equal((err as HarnessError).exitCode, 3);
  t.match((err as Error).message, /^building a kernel needs flex, bison, libelf-dev, which this host lacks$/);
  t.match((err as HarnessError).hint, /apt-get install flex bison libelf-dev/);
  t.equal(asked, undefined, 'apt was not called');
});

t.test('with apt: exactly the missing packages are installed, then checked again', async (t) => {
  const h = fakeHost(['flex', 'ccache']);
  const r = await ensureBuildTools(silentLogger, { probe: h.probe, canApt: async () => true, installer: async (_l, p) => p.forEach((x) => h.installed.add(x)) });
  t.same(r.installed, ['flex', 'ccache']);
  const none = await ensureBuildTools(silentLogger, { probe: h.probe, canApt: async () => true, installer: async () => void t.fail('nothing to install') });
  t.same(none.installed, [], 'a second call finds everything');
  const broken = fakeHost(['bison']);
  await t.rejects(ensureBuildTools(silentLogger, { probe: broken.probe, canApt: async () => true, installer: async () => undefined }), /still missing after apt-get install: bison/);
  await t.rejects(ensureBuildTools(silentLogger, { probe: broken.probe, canApt: async () => true, install: false }), /needs bison/, 'setup --no-host-packages never installs');
});

t.test('the real CLI as nobody, with flex and bison off PATH: kernel build and setup stop at once naming them', async (t) => {
  const farm = await tempDir('no-flex-path-');
  await chmod(farm, 0o755);
  const seen = new Set<string>(['flex', 'bison', 'flex++', 'yacc']);
  for (const dir of ['/usr/local/bin', '/usr/bin', '/usr/local/sbin', '/usr/sbin']) {
    for (const f of await readdir(dir).catch(() => [] as string[])) {
      if (seen.has(f)) continue;
      seen.add(f);
      await symlink(join(dir, f), join(farm, f));
    }
  }
  const cache = await tempDir('no-flex-cache-');
  await mkdir(cache, { recursive: true });
  await chown(cache, 65534, 65534);
  const asNobody = (args: string[]) =>
    // env -i: nothing of the test runner's environment (tap instruments child processes through it).
    execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', '-i', `PATH=${farm}`, `HOME=${cache}`, process.execPath, bin, ...args], { cwd: root, reject: false, timeout: 120_000 });
  const started = Date.now();
  const build = await asNobody(['kernel', 'build', 'source-7.2', '--cache', cache]);
  t.equal(build.exitCode, 3, build.stderr);
  t.match(build.stderr, /building a kernel needs flex, bison, which this host lacks/);
  t.match(build.stderr, /hint: install them as root: apt-get install flex bison/);
  t.ok(Date.now() - started < 60_000, 'fails at once');
  t.same(await readdir(cache), [], 'nothing was fetched, unpacked or configured');
  const setup = await asNobody(['setup', '--kernel', 'source-7.2', '--cache', cache]);
  t.equal(setup.exitCode, 3, setup.stderr);
  t.match(setup.stderr, /building a kernel needs flex, bison/);
  t.same(await readdir(cache), [], 'setup stopped before keys, kernels or images');
});
