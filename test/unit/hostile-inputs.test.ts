// Hostile inputs that cannot live in the static corpus (bad-scenarios/): FIFOs,
// devices, symlink loops, other encodings, huge and deeply nested files. Each
// must end as bad input (exit 2, `file:line:col: message`, no stack trace) —
// never a hang, a crash or an exit 0. Generated in a temp folder; the loader
// runs in-process (with a hang guard), a few also as real `validate` processes.
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadCases } from '../../harness/cli/load-cases.js';
import { hostileInputs } from '../helpers/hostile-inputs.js';
import { HarnessError } from '../../harness/common/errors.js';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'bin', 'ramdax-harness.js');
/** A loader that has not answered by then is hanging (a FIFO read blocks forever). */
const HANG_MS = 15_000;

const dir = await mkdtemp(join(tmpdir(), 'ramdax-hostile-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));

const inputs = hostileInputs(dir);
const step = '  - run: uname -r\n';
const head = (name: string) => `name: ${name}\nmemmap: 1G!4G\n`;
for (const i of inputs) await i.make(join(dir, i.name));

/** The loader as `validate FILE` runs it: a result or an error, never a hang. */
async function load(path: string): Promise<{ code: number; text: string }> {
  const guard = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${HANG_MS / 1000}s: hanging`)), HANG_MS).unref());
  try {
    const cases = await Promise.race([loadCases([path], []), guard]);
    return { code: 0, text: `ok: ${cases.length} case(s)` };
  } catch (err) {
    if (err instanceof HarnessError) return { code: err.exitCode, text: err.message };
    return { code: 3, text: `internal error: ${(err as Error).stack}` };
  }
}

for (const i of inputs) {
  t.test(i.name, async (t) => {
    const path = join(dir, i.name);
    const r = await load(path);
    t.equal(r.code, 2, 'bad input (exit 2)', { text: r.text.slice(0, 300) });
    const lines = r.text.split('\n');
    t.equal(lines.length, 1, 'one problem line');
    t.match(lines[0], new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `), 'file:line:col: message');
    t.match(lines[0], i.expect);
    if (i.pos) t.ok(lines[0]!.startsWith(`${path}:${i.pos}: `), `at ${i.pos}`, { line: lines[0]!.slice(0, 200) });
  });
}

t.test('a folder holding a FIFO, a device and a loop: every one reported, none read', async (t) => {
  const folder = join(dir, 'folder-of-specials');
  await mkdir(folder);
  execFileSync('mkfifo', [join(folder, 'pipe.yaml')]);
  await symlink('/dev/zero', join(folder, 'zero.yaml'));
  await symlink(join(folder, 'self.yaml'), join(folder, 'self.yaml'));
  await mkdir(join(folder, 'sub.yaml'));
  await writeFile(join(folder, 'good.yaml'), `${head('good')}steps:\n${step}`);
  const r = await load(folder);
  t.equal(r.code, 2);
  t.match(r.text, /pipe\.yaml:1:1: a FIFO/);
  t.match(r.text, /zero\.yaml:1:1: a character device/);
  t.match(r.text, /self\.yaml:1:1: a symbolic link loop/);
  t.match(r.text, /sub\.yaml:1:1: a folder, not a scenario file/);
  t.notMatch(r.text, /good\.yaml/);
});

/** As a user runs it: a real process, no loaders inherited from the test runner. */
function validate(path: string): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const t0 = Date.now();
  return new Promise((done) =>
    execFile(process.execPath, [cli, 'validate', path], { cwd: root, env, timeout: 60_000, encoding: 'utf8' }, (err, stdout, stderr) =>
      done({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr, ms: Date.now() - t0 }),
    ),
  );
}

t.test('as real processes: a FIFO, 5,000 nested sequences, 10 MB — exit 2, no stack trace', async (t) => {
  for (const name of ['fifo.yaml', 'nested-5000-flow.yaml', 'ten-megabytes.yaml']) {
    const r = await validate(join(dir, name));
    t.equal(r.code, 2, `${name}: exit 2 (${r.ms} ms)`);
    t.equal(r.stdout, '');
    t.notMatch(r.stderr, /^\s+at\s/m, 'no stack trace');
    t.notMatch(r.stderr, /internal error|RangeError|FATAL/);
  }
});

t.test('list prints a guest command with escapes as escapes, never raw', async (t) => {
  const file = join(dir, 'ansi-command.yaml');
  await writeFile(file, `${head('ansi')}steps:\n  - run: "printf '\\e[2J\\rgone'"\n`);
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const out = await new Promise<string>((done) => execFile(process.execPath, [cli, 'list', file], { cwd: root, env, encoding: 'utf8' }, (_e, stdout) => done(stdout)));
  t.notMatch(out, /[\u001b\r]/, 'no ESC or CR reaches the terminal');
  t.match(out, /printf '\\e\[2J\\rgone'/, 'shown escaped');
});
