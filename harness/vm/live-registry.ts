/**
 * What a harness process has running or lying around — QEMU processes, guest
 * RAM files, QMP sockets, scratch disks — recorded in the cache as it happens
 * (`CACHE/live/<pid>-<start>/`, one small JSON file per thing), so that when
 * the harness itself is killed (OOM killer, CI timeout, SIGKILL), the next
 * harness start finds and removes what it left, and says so. QEMU itself
 * dies with the harness through its parent-death signal (pdeathsig.ts); the
 * record is the second line: it also catches a QEMU that was being started
 * at the moment of death, and the files no signal removes.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface VmRecord {
  kind: 'qemu';
  pid: number;
  /** /proc/PID/stat start time: a reused pid is never mistaken for our QEMU. */
  start: string;
  name?: string;
}

export interface PathRecord {
  kind: 'ram-file' | 'qmp-dir' | 'scratch-disk' | 'socket' | 'file';
  path: string;
}

export type LiveRecord = VmRecord | PathRecord;

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot), or undefined when the process is gone. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Is the process that wrote a record (pid + start time) still the one running under that pid? */
export const sameProcessAlive = (pid: number, start: string): boolean => processStart(pid) === start;

export class LiveRegistry {
  private n = 0;
  private made = false;

  private constructor(
    readonly dir: string,
    private readonly start: string,
  ) {}

  /** This process's record folder under `cacheDir/live` (made with the first record: a command that starts nothing leaves nothing). */
  static open(cacheDir: string): LiveRegistry {
    const start = processStart(process.pid) ?? '0';
    return new LiveRegistry(join(liveRoot(cacheDir), `${process.pid}-${start}`), start);
  }

  private ensureDir(): void {
    if (this.made) return;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(this.dir, 'owner.json'), `${JSON.stringify({ pid: process.pid, start: this.start, argv: process.argv.slice(1), at: new Date().toISOString() })}\n`);
    this.made = true;
  }

  /** Record something; the returned function forgets it again (when it is gone). */
  track(rec: LiveRecord): () => void {
    const file = join(this.dir, `${rec.kind}-${++this.n}.json`);
    try {
      this.ensureDir();
      writeFileSync(file, `${JSON.stringify(rec)}\n`);
    } catch {
      // A full or read-only cache must not stop a run: the parent-death signal still holds.
      return () => undefined;
    }
    return () => {
      try {
        unlinkSync(file);
      } catch {
        // already gone
      }
    };
  }

  /** Things still recorded (not forgotten). */
  entries(): string[] {
    try {
      return readdirSync(this.dir).filter((f) => f !== 'owner.json');
    } catch {
      return [];
    }
  }

  /**
   * At exit: what lives exactly as long as the process (its QMP folder) is
   * removed now; the record folder goes when nothing else is left in it,
   * otherwise the next start reaps what is.
   */
  close(): void {
    for (const f of this.entries().filter((e) => e.startsWith('qmp-dir-'))) {
      try {
        const rec = JSON.parse(readFileSync(join(this.dir, f), 'utf8')) as PathRecord;
        rmSync(rec.path, { recursive: true, force: true });
        unlinkSync(join(this.dir, f));
      } catch {
        // left for the reaper
      }
    }
    if (this.entries().length === 0) rmSync(this.dir, { recursive: true, force: true });
  }
}

export const liveRoot = (cacheDir: string) => join(cacheDir, 'live');

let current: LiveRegistry | undefined;

/** The registry of this process, once a command that starts VMs opened it (undefined in unit tests and benches). */
export function liveRegistry(): LiveRegistry | undefined {
  return current;
}

/** Open (once) this process's registry in `cacheDir`; it is closed at process exit. */
export function openLiveRegistry(cacheDir: string): LiveRegistry {
  if (current) return current;
  current = LiveRegistry.open(cacheDir);
  process.once('exit', () => current?.close());
  return current;
}

/** Record through the current registry, when there is one. */
export function track(rec: LiveRecord): () => void {
  return current?.track(rec) ?? (() => undefined);
}

export interface ReapReport {
  /** Harness processes (pid) whose leftovers were cleaned. */
  owners: number[];
  killed: { pid: number; name?: string }[];
  /** QEMU records whose process was already gone (the parent-death signal did its work). */
  alreadyGone: number[];
  removed: string[];
}

/**
 * Clean up after harness processes that died without doing it themselves:
 * for every record folder whose owner is no longer running, SIGKILL its
 * QEMUs still running (same pid and start time, waiting up to 3 s for each to
 * go) and remove its files. Folders of running harnesses are left alone.
 */
export async function reapDeadOwners(cacheDir: string): Promise<ReapReport> {
  const report: ReapReport = { owners: [], killed: [], alreadyGone: [], removed: [] };
  let owners: string[];
  try {
    owners = readdirSync(liveRoot(cacheDir));
  } catch {
    return report;
  }
  for (const o of owners) {
    const m = /^(\d+)-(\d+)$/.exec(o);
    if (!m) continue;
    const [pid, start] = [Number(m[1]), m[2]!];
    if (pid === process.pid || sameProcessAlive(pid, start)) continue;
    const dir = join(liveRoot(cacheDir), o);
    const recs: LiveRecord[] = [];
    for (const f of readdirSync(dir).filter((f) => f !== 'owner.json')) {
      try {
        recs.push(JSON.parse(await readFile(join(dir, f), 'utf8')) as LiveRecord);
      } catch {
        // a half-written record: its owner died writing it
      }
    }
    for (const r of recs) {
      if (r.kind !== 'qemu') continue;
      if (!sameProcessAlive(r.pid, r.start)) {
        report.alreadyGone.push(r.pid);
        continue;
      }
      try {
        process.kill(r.pid, 'SIGKILL');
      } catch {
        // gone in between
      }
      for (let i = 0; i < 30 && sameProcessAlive(r.pid, r.start); i++) await sleep(100);
      report.killed.push({ pid: r.pid, name: r.name });
    }
    for (const r of recs) {
      if (r.kind === 'qemu') continue;
      try {
        rmSync(r.path, { recursive: true, force: true });
        report.removed.push(r.path);
      } catch {
        // not ours to remove after all (permissions): leave it
      }
    }
    rmSync(dir, { recursive: true, force: true });
    report.owners.push(pid);
  }
  return report;
}

/** One line for the log, or undefined when there was nothing to clean. */
export function describeReap(r: ReapReport): string | undefined {
  if (r.owners.length === 0) return undefined;
  const parts = [
    r.killed.length ? `killed ${r.killed.length} QEMU (${r.killed.map((k) => `pid ${k.pid}${k.name ? ` ${k.name}` : ''}`).join(', ')})` : undefined,
    r.alreadyGone.length ? `${r.alreadyGone.length} QEMU already gone` : undefined,
    r.removed.length ? `removed ${r.removed.join(', ')}` : undefined,
  ].filter(Boolean);
  return `cleaned up after harness process${r.owners.length > 1 ? 'es' : ''} ${r.owners.join(', ')} that ended without doing so: ${parts.join('; ') || 'nothing was left'}`;
}
