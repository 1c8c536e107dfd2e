/**
 * A guest process that holds a shared, writable mapping (a devdax device or
 * a file on a DAX file system) across an unbind, then touches it once and
 * reports what happened. The command builder and the report parser are pure.
 */
import { command } from '../common/shell-quote.js';

const PY = `import mmap, os, stat, sys, time
path, length, ready, go, report = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
flags = os.O_RDWR if path.startswith('/dev/') else os.O_RDWR | os.O_CREAT
fd = os.open(path, flags, 0o644)
st = os.fstat(fd)
if stat.S_ISREG(st.st_mode) and st.st_size < length:
    os.ftruncate(fd, length)
m = mmap.mmap(fd, length, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
m[0:8] = b'HARNESS1'
with open(ready, 'w') as f:
    f.write(str(os.getpid()))
while not os.path.exists(go):
    time.sleep(0.05)
rep = open(report, 'w', buffering=1)
rep.write('touch\\n')
data = bytes(m[0:8])
rep.write('read %s\\n' % data.hex())
m[0:8] = b'HARNESS2'
rep.write('wrote\\n')
m.close()
rep.write('unmapped\\n')
`;

export interface HoldFiles {
  ready: string;
  go: string;
  report: string;
  rc: string;
  log: string;
}

/**
 * Start the holder in its own session, detached from the SSH channel; its
 * pid goes to `<log>.pid`, its exit status (128+7 for SIGBUS) to `rc`.
 */
export function holdScript(path: string, length: number, f: HoldFiles): string {
  const script = '/tmp/harness-hold.py';
  const inner = 'python3 /tmp/harness-hold.py "$1" "$2" "$3" "$4" "$5"; echo $? > "$6"';
  return [
    `cat > ${script} <<'HARNESS_PY'\n${PY}HARNESS_PY`,
    `setsid sh -c ${command(inner)} holder ${command(path, length, f.ready, f.go, f.report, f.rc)} > ${f.log} 2>&1 < /dev/null &`,
    `echo $! > ${f.log}.pid`,
  ].join('\n');
}

export type HoldOutcome = 'sigbus' | 'intact' | 'changed' | 'error' | 'running';

export interface HoldReport {
  outcome: HoldOutcome;
  /** The holder's exit status (135 = killed by SIGBUS). */
  rc?: number;
  /** The first 8 bytes it read after the unbind (hex), when it could read. */
  read?: string;
  log?: string;
}

/** `rc N` then the holder's report lines, then `--- log` and its stderr. */
export function parseHold(text: string): HoldReport {
  const [head = '', log = ''] = text.split(/^--- log$/m);
  const rcText = /^rc (\d*)$/m.exec(head)?.[1];
  const rc = rcText ? Number(rcText) : undefined;
  const read = /^read ([0-9a-f]+)$/m.exec(head)?.[1];
  const logText = log.trim() || undefined;
  if (rc === undefined) return { outcome: 'running', read, log: logText };
  if (rc === 128 + 7) return { outcome: 'sigbus', rc, read, log: logText };
  if (rc === 0 && read === Buffer.from('HARNESS1').toString('hex')) return { outcome: 'intact', rc, read, log: logText };
  if (rc === 0 && read !== undefined) return { outcome: 'changed', rc, read, log: logText };
  return { outcome: 'error', rc, read, log: logText };
}
