/**
 * Golden console logs: every test/fixtures/consoles/<name>.log is run through findFindings and the
 * { type, title } list is compared with <name>.expected.json (reviewed by hand: what a kernel developer
 * wants reported, not merely what the code printed on the day). See test/fixtures/consoles/README.md.
 *
 * UPDATE_GOLDEN=1 rewrites the expected files from the current output; review the diff before keeping it.
 */
import t from 'tap';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFindings, type FindingType } from '../../harness/triage/findings.js';

const DIR = fileURLToPath(new URL('../fixtures/consoles/', import.meta.url));
const UPDATE = process.env.UPDATE_GOLDEN === '1';

/** Every finding type; the golden logs together must exercise each one. */
const ALL_TYPES = [
  'panic',
  'oops',
  'bug',
  'warning',
  'kasan',
  'ubsan',
  'kfence',
  'gpf',
  'hung-task',
  'rcu-stall',
  'soft-lockup',
  'hard-lockup',
  'init-killed',
  'kmemleak',
  'call-trace',
] as const satisfies readonly FindingType[];
// Compile-time guard: a FindingType added to findings.ts without being added here fails `tsc --noEmit`.
type Unlisted = Exclude<FindingType, (typeof ALL_TYPES)[number]>;
const allListed: [Unlisted] extends [never] ? true : never = true;
void allListed;

interface Expected {
  type: FindingType;
  title: string;
}

const logs = readdirSync(DIR)
  .filter((n) => n.endsWith('.log'))
  .sort();
const expectedPath = (log: string) => join(DIR, log.replace(/\.log$/, '.expected.json'));
const readLines = (log: string) => readFileSync(join(DIR, log), 'utf8').split(/\r?\n/);
const readExpected = (log: string): Expected[] => JSON.parse(readFileSync(expectedPath(log), 'utf8')) as Expected[];

t.test('the folder holds the logs this test is about', async (t) => {
  t.ok(logs.length >= 16, `${logs.length} logs`);
  t.ok(logs.includes('clean-fsdax-ext4.log'), 'the clean run is there');
});

for (const log of logs) {
  t.test(log, async (t) => {
    const lines = readLines(log);
    const findings = findFindings(lines);
    const actual: Expected[] = findings.map((f) => ({ type: f.type, title: f.title }));
    if (UPDATE) writeFileSync(expectedPath(log), `${JSON.stringify(actual, null, 2)}\n`);
    if (!t.ok(existsSync(expectedPath(log)), `${log} has an expected file`)) return;
    t.same(actual, readExpected(log), 'findings as reviewed');
    for (const f of findings) {
      t.ok(f.context.includes(f.line), `context of "${f.title}" includes its own line`);
      t.ok(lines.some((l) => l.trimEnd() === f.line), `"${f.line}" is a line of the log`);
    }
  });
}

t.test('no expected file without its log', async (t) => {
  const orphans = readdirSync(DIR)
    .filter((n) => n.endsWith('.expected.json'))
    .filter((n) => !logs.includes(n.replace(/\.expected\.json$/, '.log')));
  t.same(orphans, []);
});

t.test('the expected files together cover every finding type', async (t) => {
  const known = new Set<string>(ALL_TYPES);
  const seen = new Set<string>();
  for (const log of logs.filter((l) => existsSync(expectedPath(l)))) {
    for (const e of readExpected(log)) {
      t.ok(known.has(e.type), `${log}: "${e.type}" is a FindingType`);
      t.ok(e.title.startsWith(`${e.type}: `), `${log}: "${e.title}" starts with its type`);
      seen.add(e.type);
    }
  }
  t.same([...seen].sort(), [...ALL_TYPES].sort());
});

t.test('the clean fsdax/ext4 run gives no findings at all', async (t) => {
  t.same(findFindings(readLines('clean-fsdax-ext4.log')), []);
  t.same(readExpected('clean-fsdax-ext4.log'), []);
});
