// Corpus of malformed scenario files: `validate` must reject each one with
// exit 2, nothing on stdout and exactly one `FILE:LINE:COL: message` line on
// stderr, pointing where the first-line comment `# expect: LINE:COL: text` says.
import t from 'tap';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCases } from '../../harness/cli/load-cases.js';
import { HarnessError } from '../../harness/common/errors.js';
import { cliBatch } from '../helpers/cli.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const cli = join(root, 'bin', 'ramdax-harness.js');
const dir = join(root, 'test', 'fixtures', 'bad-scenarios');

/** At most this many CLI processes at once (each costs a node start plus tsx). */
const CONCURRENCY = 2;
/** A single `validate` must finish well within this. */
const RUN_TIMEOUT_MS = 60_000;

interface Expectation {
  line: number;
  col: number;
  text: string;
}

interface Fixture {
  name: string;
  file: string;
  expect: Expectation | undefined;
}

interface RunResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  error: string | undefined;
}

const EXPECT_RE = /^# expect: (\d+):(\d+): (.+?)\s*$/;

function parseExpect(file: string): Expectation | undefined {
  const first = readFileSync(file, 'utf8').split('\n', 1)[0] ?? '';
  const m = EXPECT_RE.exec(first);
  if (!m) return undefined;
  return { line: Number(m[1]), col: Number(m[2]), text: m[3]! };
}

const fixtures: Fixture[] = readdirSync(dir)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort()
  .map((f) => {
    const file = join(dir, f);
    return { name: f, file, expect: parseExpect(file) };
  });

/** The child gets no test-runner loaders: the CLI registers tsx itself. */
const childEnv: NodeJS.ProcessEnv = { ...process.env };
delete childEnv.NODE_OPTIONS;

/** Run the CLI with an argument array (never through a shell); never rejects. */
function runCli(args: string[]): Promise<RunResult> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { cwd: root, env: childEnv, timeout: RUN_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (!err) return done({ code: 0, signal: null, stdout, stderr, error: undefined });
        const code = typeof err.code === 'number' ? err.code : null;
        const error = code === null ? `${err.message}${err.killed ? ' (killed: time-out)' : ''}` : undefined;
        done({ code, signal: err.signal ?? null, stdout, stderr, error });
      },
    );
  });
}

/** Run async jobs at most `n` at a time, in the order they were queued. */
function limiter(n: number) {
  let active = 0;
  const queue: (() => void)[] = [];
  const next = () => {
    active--;
    queue.shift()?.();
  };
  return <T>(job: () => Promise<T>): Promise<T> =>
    new Promise<T>((res, rej) => {
      const start = () => {
        active++;
        job().then(res, rej).finally(next);
      };
      if (active < n) start();
      else queue.push(start);
    });
}

const STACK_RE = /^\s+at\s+\S.*(:\d+:\d+\)?|\(native\)|\(<anonymous>\))$/m;
const nonEmptyLines = (s: string) => s.split('\n').filter((l) => l.trim() !== '');

function assertNoStack(tt: Pick<typeof t, 'notMatch'>, stderr: string): void {
  tt.notMatch(stderr, STACK_RE, 'no stack trace on stderr');
  tt.notMatch(stderr, /internal error/, 'no internal error');
}

/**
 * Every fixture goes through the CLI's loader in this process (spawning node
 * 70 times costs minutes); a few, and the whole folder, also run as real processes.
 */
async function runInProcess(args: string[]): Promise<RunResult> {
  // `validate FILE` is loadCases + the CLI's error printing; the printing is checked by the spawned runs.
  try {
    const cases = await loadCases([args[1]!], []);
    return { code: 0, signal: null, stdout: `ok: ${cases.length} case(s)\n`, stderr: '', error: undefined };
  } catch (err) {
    if (err instanceof HarnessError) return { code: err.exitCode, signal: null, stdout: '', stderr: `${err.message}\n`, error: undefined };
    return { code: 3, signal: null, stdout: '', stderr: `internal error: ${(err as Error).stack}`, error: undefined };
  }
}

const SPOT_CHECKS = new Set(['yaml-tab-indentation.yaml', 'step-unknown-kind.yaml', 'memmap-bad-size.yaml']);
const limit = limiter(CONCURRENCY);
// The spot checks go through the CLI's own `main` and printing, all in one other process (cliBatch);
// the whole folder runs as a real process of the binary.
const spots = fixtures.filter((f) => SPOT_CHECKS.has(f.name));
const spotRuns = limit(() => cliBatch(spots.map((f) => ['validate', f.file])));
const spawned = new Map(
  spots.map((f, i) => [f.name, spotRuns.then((rs): RunResult => ({ code: rs[i]!.exitCode, signal: null, stdout: rs[i]!.stdout, stderr: rs[i]!.stderr, error: undefined }))] as const),
);
const folderRun = limit(() => runCli(['validate', dir]));
const runs = new Map<string, Promise<RunResult>>();
let chain: Promise<unknown> = Promise.resolve();
for (const f of fixtures) {
  // One at a time: stdout/stderr are swapped while `main` runs.
  const p = chain.then(() => spawned.get(f.name) ?? runInProcess(['validate', f.file]));
  runs.set(f.name, p);
  chain = p;
}

t.test('spot checks run through the CLI in another process', async (tt) => {
  tt.equal(spawned.size, 3, 'some fixtures are also checked through the CLI\'s main and its printing');
});

for (const f of fixtures) {
  t.test(f.name, async (tt) => {
    const r = await runs.get(f.name)!;
    tt.equal(r.error, undefined, 'the CLI ran to completion');
    tt.equal(r.code, 2, 'exit status 2 (bad input)', { stderr: r.stderr });
    tt.equal(r.stdout, '', 'nothing on stdout');
    const lines = nonEmptyLines(r.stderr);
    tt.equal(lines.length, 1, 'exactly one line on stderr', { stderr: r.stderr });
    assertNoStack(tt, r.stderr);
    const first = lines[0] ?? '';
    if (!f.expect) return tt.fail('fixture has no expect comment');
    // `FILE:LINE:COL: message`, FILE being exactly the path given on the command line.
    const m = first.startsWith(`${f.file}:`) ? /^(\d+):(\d+): (.+)$/.exec(first.slice(f.file.length + 1)) : null;
    tt.ok(m, `the line is '${f.file}:LINE:COL: message'`, { line: first });
    if (!m) return;
    tt.same({ line: Number(m[1]), col: Number(m[2]) }, { line: f.expect.line, col: f.expect.col }, `points at ${f.expect.line}:${f.expect.col}`, { line: first });
    tt.ok(m[3]!.includes(f.expect.text), `message mentions '${f.expect.text}'`, { message: m[3] });
  });
}

t.test('validate on the whole folder reports every file together', async (tt) => {
  const r = await folderRun;
  tt.equal(r.error, undefined, 'the CLI ran to completion');
  tt.equal(r.code, 2, 'exit status 2 (bad input)');
  tt.equal(r.stdout, '', 'nothing on stdout');
  assertNoStack(tt, r.stderr);
  const lines = nonEmptyLines(r.stderr);
  tt.ok(lines.length >= fixtures.length, `at least one line per fixture (${lines.length} lines, ${fixtures.length} fixtures)`);
  const missing = fixtures.filter((f) => !lines.some((l) => l.startsWith(`${f.file}:`))).map((f) => f.name);
  tt.same(missing, [], 'every fixture has a problem line');
});
