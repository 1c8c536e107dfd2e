import { readFile } from 'node:fs/promises';
import { Client, type ClientChannel } from 'ssh2';
import type { CommandResult, GuestSession } from '../model/guest.js';

export interface SshTarget {
  port: number;
  privateKey: Buffer;
  /** The guest host key blob; a server presenting any other key is refused. */
  pinnedHostKey: Buffer;
}

export class HostKeyMismatch extends Error {
  constructor() {
    super('guest SSH host key does not match the pinned key from the image: refusing to connect');
    this.name = 'HostKeyMismatch';
  }
}

/** One SSH connection to a guest (127.0.0.1 only), with pinned host key. */
export class SshSession implements GuestSession {
  private closedReason: string | undefined;

  private constructor(private readonly client: Client) {
    client.on('close', () => (this.closedReason ??= 'SSH connection closed'));
    client.on('error', (err) => (this.closedReason = `SSH connection error: ${err.message}`));
  }

  static connect(t: SshTarget, timeoutMs: number): Promise<SshSession> {
    return new Promise((resolve, reject) => {
      const client = new Client();
      let mismatch = false;
      client
        .on('ready', () => resolve(new SshSession(client)))
        .on('error', (err) => {
          client.end();
          reject(mismatch ? new HostKeyMismatch() : err);
        })
        .connect({
          host: '127.0.0.1',
          port: t.port,
          username: 'root',
          privateKey: t.privateKey,
          readyTimeout: timeoutMs,
          keepaliveInterval: 5000,
          keepaliveCountMax: 6,
          hostVerifier: (key: Buffer) => {
            const ok = Buffer.compare(key, t.pinnedHostKey) === 0;
            mismatch = !ok;
            return ok;
          },
        });
    });
  }

  get closed(): string | undefined {
    return this.closedReason;
  }

  exec(command: string, opts: { timeoutMs: number; stdin?: string }): Promise<CommandResult> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
      if (this.closedReason) return reject(new Error(this.closedReason));
      this.client.exec(command, (err, ch: ClientChannel) => {
        if (err) return reject(err);
        let stdout = '';
        let stderr = '';
        let timedOut = false;
        let settled = false;
        const timer = setTimeout(() => {
          // A hung guest never confirms the close: answer now, don't wait for it.
          timedOut = true;
          settled = true;
          ch.signal('KILL');
          ch.close();
          resolve({ command, exitCode: null, stdout, stderr, durationMs: Date.now() - started, timedOut });
        }, opts.timeoutMs);
        ch.on('data', (d: Buffer) => (stdout = cap(stdout + d.toString())));
        ch.stderr.on('data', (d: Buffer) => (stderr = cap(stderr + d.toString())));
        let exitCode: number | null = null;
        let signal: string | undefined;
        ch.on('exit', (code: number | null, sig?: string) => {
          exitCode = code;
          signal = sig ?? undefined;
        });
        ch.on('close', () => {
          clearTimeout(timer);
          if (settled) return;
          if (!timedOut && exitCode === null && signal === undefined && this.closedReason) {
            return reject(new Error(`${this.closedReason} while running: ${command}`));
          }
          resolve({ command, exitCode, signal, stdout, stderr, durationMs: Date.now() - started, timedOut });
        });
        if (opts.stdin !== undefined) ch.end(opts.stdin);
        else ch.end();
      });
    });
  }

  /** Close at once: after a power-off there is nobody left to say goodbye to. */
  close(): void {
    this.closedReason ??= 'SSH session closed by the harness';
    this.client.destroy();
  }
}

const MAX_OUTPUT = 4 * 1024 * 1024;
const cap = (s: string) => (s.length > MAX_OUTPUT ? s.slice(-MAX_OUTPUT) : s);

/** The raw public-key blob of an OpenSSH `.pub` line, as the SSH server sends it. */
export async function readPublicKeyBlob(pubFile: string): Promise<Buffer> {
  const line = (await readFile(pubFile, 'utf8')).trim();
  const b64 = line.split(/\s+/)[1];
  if (!b64) throw new Error(`${pubFile}: not an OpenSSH public key`);
  return Buffer.from(b64, 'base64');
}

export async function loadSshTarget(port: number, keys: { clientKey: string; hostPub: string }): Promise<SshTarget> {
  return { port, privateKey: await readFile(keys.clientKey), pinnedHostKey: await readPublicKeyBlob(keys.hostPub) };
}

/** How the runner reaches a guest: the SSH transport here, a fake one in unit tests. */
export interface GuestTransport {
  /** Fails when the transport cannot work at all (keys missing): called before any VM starts. */
  prepare(): Promise<void>;
  /** Connect to the guest behind the forwarded host port. */
  connect(port: number, timeoutMs: number): Promise<GuestSession>;
}

/** SSH to 127.0.0.1:port with the harness's client key and the guest's pinned host key (read once). */
export function sshTransport(keys: { clientKey: string; hostPub: string }): GuestTransport {
  let target: Promise<SshTarget> | undefined;
  const load = () => (target ??= loadSshTarget(0, keys));
  return {
    prepare: async () => void (await load()),
    connect: async (port, timeoutMs) => SshSession.connect({ ...(await load()), port }, timeoutMs),
  };
}
