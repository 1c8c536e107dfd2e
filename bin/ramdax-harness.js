#!/usr/bin/env node
// Entry point. `npm ci` compiles harness/ into dist/ (scripts/build.mjs, the
// `prepare` script): start that plain JavaScript. If dist/ is missing or older
// than a source file (a checkout being edited), run the sources through tsx
// instead, so what runs is always what is checked out.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Newest mtime of the files under dir (.ts sources and the assets copied beside them; a few hundred stats: about a millisecond). */
function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function compiledIsFresh() {
  const stamp = join(root, 'dist', '.build-stamp');
  if (!existsSync(stamp)) return false;
  return statSync(stamp).mtimeMs >= newestSource(join(root, 'harness'));
}

// `ramdax-harness list | head`: a closed stdout ends the program quietly (QEMU children are still stopped on exit).
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
let main;
if (process.env.RAMDAX_HARNESS_TSX !== '1' && compiledIsFresh()) {
  ({ main } = await import('../dist/harness/cli/main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../harness/cli/main.ts'));
}
process.exitCode = await main(process.argv);
