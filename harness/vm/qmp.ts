import { connect } from 'node:net';

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
