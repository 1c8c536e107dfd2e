import t from 'tap';
import { holdScript, parseHold } from '../../harness/steps/holder.js';

const files = { ready: '/tmp/r', go: '/tmp/g', report: '/tmp/rep', rc: '/tmp/rc', log: '/tmp/log' };

t.test('holdScript: the python holder, detached, its arguments quoted for the guest shell', async (t) => {
  const s = holdScript("/mnt/pmem/it's here", 2097152, files);
  t.match(s, /^cat > \/tmp\/harness-hold\.py <<'HARNESS_PY'\nimport mmap/);
  t.match(s, /\nHARNESS_PY\nsetsid sh -c /);
  t.match(s, /holder '\/mnt\/pmem\/it'\\''s here' 2097152 \/tmp\/r \/tmp\/g \/tmp\/rep \/tmp\/rc > \/tmp\/log 2>&1 < \/dev\/null &\necho \$! > \/tmp\/log\.pid$/);
  t.match(s, /mmap\.MAP_SHARED, mmap\.PROT_READ \| mmap\.PROT_WRITE/);
});

t.test('parseHold: what the holder saw after the unbind', async (t) => {
  t.same(parseHold('rc 135\ntouch\n--- log\nBus error\n'), { outcome: 'sigbus', rc: 135, read: undefined, log: 'Bus error' }, 'killed by SIGBUS at its first touch (devdax, xfs)');
  t.same(parseHold('rc 0\ntouch\nread 4841524e45535331\nwrote\nunmapped\n--- log\n'), { outcome: 'intact', rc: 0, read: '4841524e45535331', log: undefined }, 'still reads its data: the mapping outlived the device');
  t.equal(parseHold('rc 0\ntouch\nread 0000000000000000\nwrote\n--- log\n').outcome, 'changed');
  t.same(parseHold('rc \ntouch\nread 4841524e45535331\n--- log\n'), { outcome: 'running', read: '4841524e45535331', log: undefined }, 'never exited (ext4 on 7.2.13: the oops in its exit path)');
  t.equal(parseHold('rc 1\n--- log\nTraceback ...\n').outcome, 'error');
});
