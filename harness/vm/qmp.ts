import { connect } from 'node:net';

/**
 * Send one QMP command (after capabilities negotiation); resolves with QEMU's
 * `return` value, or undefined when the socket closes first (e.g. after `quit`).
 * An `error` answer rejects with QEMU's description.
 */
export function qmpCommand(socketPath: string, execute: string, timeoutMs = 3000, args?: Record<string, unknown>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    let buf = '';
    let sent = false;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`QMP ${execute}: no answer in ${timeoutMs}ms`));
    }, timeoutMs);
    const done = (err?: Error, value?: unknown) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(value);
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
          sock.write(`${JSON.stringify(args ? { execute, arguments: args } : { execute })}\n`);
        } else if (sent && (line.includes('"return"') || line.includes('"error"'))) {
          const msg = JSON.parse(line) as { return?: unknown; error?: { desc?: string } };
          if (msg.error) done(new Error(`QMP ${execute}: ${msg.error.desc ?? 'error'}`));
          else done(undefined, msg.return);
        }
      }
    });
  });
}
