/** `--filter` takes one glob per flag (repeatable); paths after it stay paths (issue 15). */
import t from 'tap';
import { cli } from '../helpers/cli.js';

const ids = (stdout: string) => (JSON.parse(stdout) as { id: string }[]).map((c) => c.id);

t.test('a path after --filter is a path, not a second glob', async (t) => {
  const perf = await cli(['list', '--filter', 'perf-*', 'scenarios/perf', '--json']);
  t.equal(perf.exitCode, 0, String(perf.stderr));
  t.same(ids(perf.stdout), ['perf-devdax', 'perf-fsdax[fs=ext4,dax=dax]', 'perf-fsdax[fs=ext4,dax=pagecache]', 'perf-fsdax[fs=xfs,dax=dax]', 'perf-fsdax[fs=xfs,dax=pagecache]', 'perf-setup-timings', 'perf-tmpfs', 'perf-virtio-blk'], 'only scenarios/perf, nightly-gate filtered out');
  const edge = await cli(['list', '--filter', 'boot*', 'scenarios/edge']);
  t.equal(edge.exitCode, 2, 'boot-smoke of the default folder is not listed: the filter matches nothing in scenarios/edge');
  t.match(String(edge.stderr), /--filter boot\* matches none of: beyond-ram/);
});

t.test('--filter repeats: a case matching any glob is kept', async (t) => {
  const r = await cli(['list', 'scenarios/edge', '--filter', 'unaligned', '--filter', 'tiny-*4K*', '--json']);
  t.equal(r.exitCode, 0, String(r.stderr));
  t.same(ids(r.stdout), ['tiny-carveouts[size=one-page-4K]', 'unaligned']);
});
