#!/usr/bin/env node
// Entry point: load the TypeScript sources through tsx, then hand over to the CLI.
import { register } from 'tsx/esm/api';

register();
// `ramdax-harness list | head`: a closed stdout ends the program quietly (QEMU children are still stopped on exit).
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
const { main } = await import('../harness/cli/main.ts');
process.exitCode = await main(process.argv);
