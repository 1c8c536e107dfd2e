/**
 * The guest's network is closed by default (real QEMU): with `restrict=on` the
 * SSH forward still works, and a service on the host's 127.0.0.1 — which the
 * guest would reach as 10.0.2.2 through QEMU's user-mode NAT — is unreachable.
 * The control case opts in (`machine: { network: open }`) and does reach it, so
 * the test would see a leak. Two boots.
 */
import t from 'tap';
import { createServer } from 'node:net';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cli, tempDir } from '../helpers/cli.js';

t.test('a host service on 127.0.0.1 is unreachable from a closed guest, reachable from an open one', async (t) => {
  const connections: string[] = [];
  const srv = createServer((sock) => {
    connections.push(new Date().toISOString());
    sock.end('hello-from-the-host\n');
  }).listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  t.teardown(() => srv.close());
  const port = (srv.address() as { port: number }).port;
  const dir = await tempDir('ramdax-net-');
  const scenario = join(dir, 'guest-network.yaml');
  await writeFile(
    scenario,
    `name: guest-network
matrix:
  net:
    closed: { network: closed, exit: 1 }
    open: { network: open, exit: 0 }
machine: { network: "\${net.network}" }
memmap: 512M!4G
steps:
  - name: connect to the host's 127.0.0.1:${port} as 10.0.2.2:${port}
    run:
      command: python3 -c "import socket; s = socket.create_connection(('10.0.2.2', ${port}), 5); print(s.recv(100).decode().strip())"
      expect: { exit: "\${net.exit}" }
`,
  );
  const results = join(dir, 'results');
  const r = await cli(['run', scenario, '--results', results]);
  t.equal(r.exitCode, 0, 'both cases pass: the closed guest cannot connect, the open one can', { stdout: String(r.stdout).slice(-3000) });
  const run = JSON.parse(await readFile(join(results, (await readdir(results))[0]!, 'results.json'), 'utf8'));
  const byId = Object.fromEntries(run.cases.map((c: { id: string }) => [c.id, c]));
  const closed = byId['guest-network[net=closed]'];
  const open = byId['guest-network[net=open]'];
  t.equal(closed.points[0].status, 'pass', 'SSH through the forward works with restrict=on');
  t.equal(closed.points[1].status, 'pass', 'closed: the connection failed');
  t.equal(open.points[1].status, 'pass', 'open: the connection worked');
  t.match(JSON.stringify(closed.qemuArgv), /hostfwd=tcp:127\.0\.0\.1:\d+-:22,restrict=on/);
  t.notMatch(JSON.stringify(open.qemuArgv), /restrict=on/);
  t.equal(connections.length, 1, 'the host service saw exactly one connection: the open guest\'s');
});
