/**
 * Runs several CLI invocations in ONE node process (each through `main`, as
 * bin/ramdax-harness.js does), for tests that check many argument/exit-code
 * cases: one process start instead of one per invocation. Prints a JSON array
 * of { exitCode, stdout, stderr } on its real stdout.
 *
 *   node --import tsx test/helpers/cli-batch.ts '[["kernel","list"],["--version"]]'
 */
import { main } from '../../harness/cli/main.js';

const batches = JSON.parse(process.argv[2] ?? '[]') as string[][];
const write = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
const results: { exitCode: number; stdout: string; stderr: string }[] = [];
for (const args of batches) {
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  let exitCode: number;
  try {
    exitCode = await main(['node', 'ramdax-harness', ...args]);
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
  }
  results.push({ exitCode, stdout, stderr });
}
write.out(`${JSON.stringify(results)}\n`);
