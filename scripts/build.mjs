#!/usr/bin/env node
// Compile harness/ to dist/ once (npm's `prepare` runs this at `npm ci`), so
// that `ramdax-harness` starts as plain JavaScript instead of transpiling
// its sources on every start. Writes dist/.build-stamp last: bin/ uses dist/
// only while that stamp is newer than every source file.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  console.warn('ramdax-harness: typescript is not installed (npm ci --omit=dev?): not compiling; the CLI runs its sources through tsx');
  process.exit(0);
}
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
if (r.status !== 0) {
  console.error('ramdax-harness: compiling to dist/ failed (see above)');
  process.exit(r.status ?? 1);
}
if (!existsSync(join(root, 'dist/harness/cli/main.js'))) {
  console.error('ramdax-harness: tsc wrote no dist/harness/cli/main.js');
  process.exit(1);
}
// Files the code reads beside itself (guest tools such as harness/integrity/fill-tool.py): copied as they are.
function copyAssets(dir) {
  for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) copyAssets(p);
    else if (!e.name.endsWith('.ts')) cpSync(join(root, p), join(root, 'dist', p));
  }
}
copyAssets('harness');
writeFileSync(join(root, 'dist', '.build-stamp'), `${new Date().toISOString()}\n`);
