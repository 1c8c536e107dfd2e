/**
 * The private apt checks the Debian archive against the Debian archive
 * keyring named in signed-by (network: Debian's apt archive, no QEMU): the
 * update works with it, and fails with a keyring that does not hold the
 * archive's keys — so the signed-by option is what apt trusts, not the host's
 * trusted.gpg.d.
 */
import t from 'tap';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { debianMirror, PrivateApt, sourcesLine } from '../../harness/setup/apt.js';

const log = { info: () => undefined, warn: () => undefined, step: () => undefined } as never;

t.test('apt update with signed-by the Debian archive keyring works; with a keyring lacking the keys it fails', async (t) => {
  const cache = await mkdtemp(join(tmpdir(), 'ramdax-apt-'));
  t.teardown(() => rm(cache, { recursive: true, force: true }));
  const apt = new PrivateApt(cache, ['trixie-backports']);
  await apt.update(log, 0);
  t.ok((await apt.packageNames('linux-binary-')).length > 0, 'the signed lists were accepted: linux-binary-* packages are offered');

  // The same sources, signed-by a keyring holding only bullseye's keys: apt must refuse.
  const wrong = join(cache, 'wrong');
  await mkdir(join(wrong, 'lists', 'partial'), { recursive: true });
  await writeFile(join(wrong, 'sources.list'), sourcesLine(debianMirror(), 'trixie-backports', '/usr/share/keyrings/debian-archive-bullseye-stable.gpg'));
  const r = await execa('apt-get', ['-o', `Dir::Etc::sourcelist=${join(wrong, 'sources.list')}`, '-o', 'Dir::Etc::sourceparts=-', '-o', `Dir::State::Lists=${join(wrong, 'lists')}`, '-o', `Dir::Cache=${join(wrong, 'cache')}`, '-o', 'Debug::NoLocking=1', 'update'], { reject: false });
  t.match(`${r.stdout}\n${r.stderr}`, /NO_PUBKEY|not signed|signatures couldn't be verified|is not signed/, 'apt refuses the lists: signed-by decides');
});
