// QMP sockets: in one private folder per harness process (0700, ours, an
// unpredictable name), not at /tmp/ramdax-qmp-PID-N.sock.
import t from 'tap';
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { privateSocketDir, qmpSocketPath } from '../../harness/vm/private-dir.js';

t.test('QMP socket paths are in a private 0700 folder', async (t) => {
  const a = qmpSocketPath();
  const b = qmpSocketPath();
  t.not(a, b);
  t.equal(dirname(a), privateSocketDir());
  const st = statSync(privateSocketDir());
  t.ok(st.isDirectory());
  t.equal(st.mode & 0o777, 0o700, 'mode 0700');
  t.equal(st.uid, process.getuid!(), 'owned by this user');
  t.notMatch(privateSocketDir(), new RegExp(`${process.pid}`), 'the folder name does not follow from the pid');
  t.match(a, /\/ramdax-[A-Za-z0-9]{6}\/ramdax-qmp-\d+\.sock$/);
  t.ok(a.length < 100, 'short enough for a Unix socket path (107 bytes)');
});
