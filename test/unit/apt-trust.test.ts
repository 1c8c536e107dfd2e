// apt trust and version choice (pure parts): the mirror URL that may go into a
// sources.list line, signed-by the Debian archive keyring, and Debian version
// ordering checked against dpkg itself (text order put -10 before -9).
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { debianMirror, DEBIAN_KEYRING, mirrorProblem, PrivateApt, sourcesLine } from '../../harness/setup/apt.js';
import { compareDebianVersions, debVersion, newestDeb } from '../../harness/setup/debian-version-compare.js';

t.test('mirror URLs: http(s) only, no apt options, no white space', async (t) => {
  for (const ok of ['http://deb.debian.org/debian', 'https://mirror.example.org/debian/', 'http://10.0.0.1:3142/debian']) t.equal(mirrorProblem(ok), undefined, ok);
  const bad: [string, RegExp][] = [
    ['[trusted=yes] http://evil.example/debian', /brackets/],
    ['http://deb.debian.org/debian [trusted=yes]', /white space|brackets/],
    ['http://x/debian sid main\ndeb http://evil/ sid', /white space/],
    ['file:///srv/debian', /scheme file:/],
    ['ftp://ftp.debian.org/debian', /scheme ftp:/],
    ['cdrom:[Debian]/', /brackets/],
    ['deb.debian.org/debian', /not a URL/],
    ['http://deb.debian.org/debian?x=1', /query/],
    ['http://a\u0007b/', /control/],
  ];
  for (const [url, re] of bad) t.match(mirrorProblem(url), re, JSON.stringify(url));
  t.equal(debianMirror({}), 'http://deb.debian.org/debian');
  t.equal(debianMirror({ RAMDAX_HARNESS_MIRROR: 'https://m.example/debian/' }), 'https://m.example/debian');
  t.throws(() => debianMirror({ RAMDAX_HARNESS_MIRROR: '[trusted=yes] http://evil/' }), { message: /RAMDAX_HARNESS_MIRROR=.*brackets/ });
});

t.test('sources lines are signed-by the Debian archive keyring', async (t) => {
  t.equal(sourcesLine('http://deb.debian.org/debian', 'sid'), `deb [signed-by=${DEBIAN_KEYRING}] http://deb.debian.org/debian sid main\n`);
  t.throws(() => new PrivateApt('/tmp/c', ['sid main contrib']), /not a Debian suite name/);
  t.throws(() => new PrivateApt('/tmp/c', ['[trusted=yes]']), /not a Debian suite name/);
});

t.test('Debian version ordering agrees with dpkg --compare-versions', async (t) => {
  const versions = ['7.2.13-9', '7.2.13-10', '7.2.13-1~bpo13+1', '7.2.13-1', '7.2.13+deb14-1', '1:7.2.1-1', '7.2.9-1', '7.2.10-1', '7.2.13-1a', '7.2~rc1-1', '1.0~~', '1.0~', '1.0', '1.0a', '1.0+'];
  let checked = 0;
  for (const a of versions) {
    for (const b of versions) {
      const dpkg = (op: string) => {
        try {
          execFileSync('dpkg', ['--compare-versions', a, op, b]);
          return true;
        } catch {
          return false;
        }
      };
      const mine = Math.sign(compareDebianVersions(a, b));
      const theirs = dpkg('lt') ? -1 : dpkg('eq') ? 0 : 1;
      if (mine !== theirs) t.fail(`${a} vs ${b}: ${mine}, dpkg says ${theirs}`);
      checked++;
    }
  }
  t.pass(`${checked} pairs agree with dpkg`);
  t.ok(compareDebianVersions('7.2.13-10', '7.2.13-9') > 0, '-10 is newer than -9');
});

t.test('the newest .deb of a package is picked by version, not by text', async (t) => {
  const files = ['linux-binary-7.2.13+deb14-amd64_7.2.13-9_amd64.deb', 'linux-binary-7.2.13+deb14-amd64_7.2.13-10_amd64.deb', 'linux-binary-7.2.13+deb14-amd64_7.2.13-1~bpo13+1_amd64.deb'];
  t.equal(newestDeb(files), files[1]);
  t.equal([...files].sort().at(-1), files[0], 'text order would have taken -9');
  t.equal(debVersion('linux-source-7.2_1%3a7.2.13-3_all.deb'), '1:7.2.13-3');
});
