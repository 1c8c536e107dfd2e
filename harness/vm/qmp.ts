import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let sockets = 0;

/**
 * A fresh QMP control socket path for one QEMU. Unix socket paths are limited
 * to 107 bytes: short, in the temp folder, never in the run folder. QemuVm
 * removes it when QEMU exits.
 */
export function qmpSocketPath(): string {
  return join(tmpdir(), `${QMP_SOCKET_PREFIX}${process.pid}-${++sockets}.sock`);
}

/** Every harness QMP socket's file name starts so (repro scripts swap it for their own). */
export const QMP_SOCKET_PREFIX = 'ramdax-qmp-';

/** Send one QMP command (after capabilities negotiation); resolves when QEMU answers or the socket closes. */
export function qmpCommand(socketPath: string, execute: string, timeoutMs = 3000): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    let buf = '';
    let sent = false;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`QMP ${execute}: no answer in ${timeoutMs}ms`));
    }, timeoutMs);
    const done = (err?: Error) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve();
    };
    sock.on('error', (err) => done(err));
    sock.on('close', () => done());
    sock.on('data', (d) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        if (line.includes('"QMP"')) sock.write('{"execute":"qmp_capabilities"}\n');
        else if (line.includes('"return"') && !sent) {
          sent = true;
          sock.write(`${JSON.stringify({ execute })}\n`);
        } else if (line.includes('"return"') && sent) done();
      }
    });
  });
}
