// Reads node-tap's TAP on stdin, echoes it, and writes "PASS FAIL" (leaf
// assertions at every depth, subtest-closing points excluded) to the file
// named by argv[2].
import { writeFileSync } from 'node:fs';
import { Parser } from 'tap-parser';

let pass = 0;
let fail = 0;
const watch = (p) => {
  p.on('assert', (a) => {
    if (a.closingTestPoint || a.skip || a.todo) return;
    if (a.ok) pass++;
    else fail++;
  });
  p.on('child', watch);
};
const parser = new Parser();
watch(parser);
process.stdin.on('data', (d) => process.stdout.write(d));
process.stdin.pipe(parser);
parser.on('complete', () => writeFileSync(process.argv[2], `${pass} ${fail}\n`));
