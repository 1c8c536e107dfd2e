import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import t, { type Test } from 'tap';
import { command, quote } from '../../harness/common/shell-quote.js';

/** Strings a scenario could smuggle into a guest command line. */
const NASTY: string[] = [
  '',
  ' ',
  'plain',
  'two words',
  '  leading and trailing  ',
  "it's",
  "'",
  "''",
  "'\\''",
  '"double"',
  '"',
  '$(rm -rf /tmp/should-not-run)',
  '$HOME',
  '${PATH}',
  '`id`',
  '`',
  'a;b',
  'a && b || c',
  'a | b',
  '> /tmp/x',
  '< /etc/passwd',
  'line1\nline2',
  '\n',
  'trailing newline\n',
  'tab\there',
  '*',
  '?',
  '[abc]',
  '~',
  '~root',
  '#comment',
  'a#b',
  '!',
  '!!',
  '\\',
  '\\n',
  '-n',
  '-e',
  '--',
  '%s',
  '%%',
  'x=y',
  'a\u00e9\u4e2d',
  '{a,b}',
  '&',
  '(subshell)',
];

/** Run `printf '%s\0' ARGS` through a real shell and split on NUL: argument boundaries stay exact even with newlines. */
function roundTrip(tt: Test, shell: string, args: string[]): string[] {
  const script = command('printf', '%s\\0', ...args);
  const out = execFileSync(shell, ['-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent-home' } });
  const parts = out.split('\0');
  tt.equal(parts.pop(), '', 'output ends with a NUL');
  return parts;
}

t.test('quote leaves safe words alone and single-quotes the rest', async (t) => {
  t.equal(quote('abc'), 'abc');
  t.equal(quote('/dev/pmem0'), '/dev/pmem0');
  t.equal(quote('dax=always,noatime'), 'dax=always,noatime');
  t.equal(quote('user@host:1.2+3%4'), 'user@host:1.2+3%4');
  t.equal(quote(42), '42');
  t.equal(quote(0), '0');
  t.equal(quote(''), "''", 'empty string becomes an empty quoted word');
  t.equal(quote('a b'), "'a b'");
  t.equal(quote("it's"), "'it'\\''s'");
  t.equal(quote('$(x)'), "'$(x)'");
  t.equal(quote('*'), "'*'", 'glob characters are quoted');
  t.equal(quote('~'), "'~'", 'tilde is quoted');
});

t.test('command joins quoted words with single spaces', async (t) => {
  t.equal(command('ndctl', 'create-namespace', '-m', 'fsdax', '-s', 268435456), 'ndctl create-namespace -m fsdax -s 268435456');
  t.equal(command('echo', ''), "echo ''");
  t.equal(command('xfs_io', '-r', '-c', 'statx -r', '/mnt/p'), "xfs_io -r -c 'statx -r' /mnt/p");
});

t.test('every nasty string survives /bin/sh word splitting unchanged', async (t) => {
  const back = roundTrip(t, 'sh', NASTY);
  t.equal(back.length, NASTY.length, 'same number of arguments');
  NASTY.forEach((s, i) => t.equal(back[i], s, `round trip ${JSON.stringify(s)}`));
});

t.test('every nasty string survives bash word splitting unchanged', async (t) => {
  // bash enables history expansion only interactively; `!` must still be inert here.
  t.same(roundTrip(t, 'bash', NASTY), NASTY);
});

t.test('a lone empty string is still one argument', async (t) => {
  t.same(roundTrip(t, 'sh', ['']), ['']);
  t.same(roundTrip(t, 'sh', ['', 'x', '']), ['', 'x', '']);
});

t.test('a command substitution in an argument is never executed', async (t) => {
  const marker = `/tmp/shell-quote-test-${process.pid}-${Date.now()}`;
  const args = [`$(touch ${marker})`, `\`touch ${marker}\``, `; touch ${marker}`, `' ; touch ${marker} ; '`];
  t.same(roundTrip(t, 'sh', args), args);
  t.notOk(existsSync(marker), 'no file was created by the quoted arguments');
});

t.test('numbers are stringified', async (t) => {
  t.same(roundTrip(t, 'sh', [String(-1), String(1.5)]), ['-1', '1.5']);
  t.equal(command(1, 2, 3), '1 2 3');
});

t.test("printf '%s\\n' form: one line per argument for newline-free strings", async (t) => {
  const args = NASTY.filter((s) => !s.includes('\n'));
  const out = execFileSync('sh', ['-c', `printf "%s\\n" ${args.map(quote).join(' ')}`], { encoding: 'utf8' });
  t.same(out.split('\n').slice(0, -1), args);
});
