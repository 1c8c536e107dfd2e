import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { scenarioFiles } from '../../harness/scenario/load.js';
import { cli, root, tempDir } from '../helpers/cli.js';

t.test('--version prints the package version and exits 0', async (t) => {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
  const r = await cli(['--version'], { timeoutMs: 60_000 });
  t.equal(r.exitCode, 0);
  t.equal(String(r.stdout).trim(), pkg.version);
});

t.test('scenarioFiles: a folder is its top level; recursive adds subfolders, sorted', async (t) => {
  const dir = await tempDir('ramdax-files-');
  await mkdir(join(dir, 'edge', 'deeper'), { recursive: true });
  for (const f of ['b.yaml', 'a.yml', 'notes.md', 'edge/c.yaml', 'edge/deeper/d.yaml']) await writeFile(join(dir, f), 'x');
  const rel = (fs: string[]) => fs.map((f) => f.slice(dir.length + 1));
  t.same(rel(await scenarioFiles([dir])), ['a.yml', 'b.yaml'], 'run scenarios/ = the default run, no subfolders');
  t.same(rel(await scenarioFiles([dir], { recursive: true })), ['a.yml', 'b.yaml', 'edge/c.yaml', 'edge/deeper/d.yaml']);
});

t.test('validate walks subfolders: a bad file in a subfolder is reported with its position', async (t) => {
  const dir = await tempDir('ramdax-validate-');
  await mkdir(join(dir, 'edge'));
  await writeFile(join(dir, 'ok.yaml'), 'name: ok-one\nsteps:\n  - run: uname -r\n');
  await writeFile(join(dir, 'edge', 'bad.yaml'), 'name: bad-one\nsteps:\n  - mkfss: {}\n');
  const r = await cli(['validate', dir], { timeoutMs: 60_000 });
  t.equal(r.exitCode, 2, String(r.stderr));
  t.match(String(r.stderr), /edge\/bad\.yaml:3:5: unknown step kind 'mkfss'/);
});

t.test('every shipped scenario validates (subfolders included)', async (t) => {
  const r = await cli(['validate', 'scenarios'], { timeoutMs: 60_000 });
  t.equal(r.exitCode, 0, String(r.stderr));
  const m = /ok: (\d+) case\(s\) from (\d+) file\(s\)/.exec(String(r.stdout));
  t.ok(m, String(r.stdout));
  const files = await scenarioFiles([join(root, 'scenarios')], { recursive: true });
  t.equal(Number(m?.[2]), files.length, 'all files under scenarios/ were loaded');
});

t.test('the compiled start (dist/) carries every file the code reads beside itself, and is fresh', async (t) => {
  const { readdirSync, existsSync, statSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { projectRoot } = await import('../../harness/common/paths.js');
  const assets: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(join(projectRoot, d), { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!e.name.endsWith('.ts')) assets.push(p);
    }
  };
  walk('harness');
  t.ok(assets.includes('harness/integrity/fill-tool.py'), 'the guest fill tool is an asset');
  // npm test runs scripts/build.mjs first; a checkout edited since then starts through tsx (bin/ramdax-harness.js).
  const stamp = join(projectRoot, 'dist', '.build-stamp');
  if (!existsSync(stamp)) return t.pass('no dist/: the CLI runs its sources');
  for (const a of assets) {
    const copy = join(projectRoot, 'dist', a);
    t.ok(existsSync(copy) || statSync(join(projectRoot, a)).mtimeMs > statSync(stamp).mtimeMs, `${a} is in dist/ (or newer than the build, so dist/ is not used)`);
  }
});
