import { z } from 'zod';
import { command } from '../common/shell-quote.js';
import { formatSize } from '../common/units.js';
import { Size } from '../model/values.js';
import { GuestPath } from './device.js';
import { runBody } from './recorder.js';
import type { StepKind } from './types.js';

const TRACING = '/sys/kernel/tracing';

const Params = z
  .object({
    /** A new file on the mount under test; it is created, mapped and written. */
    path: GuestPath,
    /** A multiple of 2 MiB, so a PMD mapping is possible. */
    size: Size.refine((n) => n % (2 * 1024 ** 2) === 0, 'a multiple of 2M').default(4 * 1024 ** 2),
    /**
     * pmd: at least one 2 MiB (PMD) DAX fault completed without falling back;
     * pte: DAX faults happened (4 KiB ones count); none: no fs_dax event at all (page cache).
     */
    expect: z.enum(['pmd', 'pte', 'none']).default('pmd'),
  })
  .strict();
type Params = z.output<typeof Params>;

export interface DaxFaults {
  /** Completed fault events by size and result flags (e.g. NOPAGE, FALLBACK). */
  pmd: Record<string, number>;
  pte: Record<string, number>;
  /** Every fs_dax event seen, by name. */
  events: Record<string, number>;
}

/** Count fs_dax trace events in /sys/kernel/tracing/trace output (pure). */
export function daxFaults(trace: string): DaxFaults {
  const out: DaxFaults = { pmd: {}, pte: {}, events: {} };
  for (const line of trace.split('\n')) {
    const m = /\s(dax_[a-z_]+):\s(.*)$/.exec(line);
    if (!m) continue;
    out.events[m[1]!] = (out.events[m[1]!] ?? 0) + 1;
    const done = /^dax_(pmd|pte)_fault_done$/.exec(m[1]!);
    if (!done) continue;
    const result = m[2]!.trim().split(/\s+/).at(-1) ?? '?';
    const bucket = out[done[1] as 'pmd' | 'pte'];
    bucket[result] = (bucket[result] ?? 0) + 1;
  }
  return out;
}

/** PMD faults that mapped 2 MiB directly (no FALLBACK flag among the result flags). */
export const pmdMapped = (f: DaxFaults): number =>
  Object.entries(f.pmd).reduce((n, [flags, count]) => (flags.split('|').includes('FALLBACK') ? n : n + count), 0);

/**
 * Prove how a DAX file is mapped by the kernel's fs_dax trace events: create a
 * file (2 MiB extent size hint on xfs), map it shared, write every page, and
 * count dax_pmd_fault_done / dax_pte_fault_done events and their results.
 */
export const daxFaultsStep: StepKind<Params> = {
  kind: 'dax-faults',
  summary: 'map and write a file, prove DAX faults (2 MiB PMD, 4 KiB PTE, or none) by fs_dax trace events',
  schema: Params as z.ZodType<Params, unknown>,
  shorthand: (path) => ({ path }),
  title: (p) => (p.expect === 'none' ? `no fs_dax faults on ${p.path}` : `${p.expect === 'pmd' ? 'PMD (2M)' : 'PTE'} DAX faults on ${p.path} (fs_dax trace)`),
  run: (ctx, p) =>
    runBody(ctx, async (r) => {
      const t = (f: string) => `${TRACING}/${f}`;
      await r.sh(`mountpoint -q ${TRACING} || mount -t tracefs nodev ${TRACING}`);
      const present = await r.sh(`test -d ${t('events/fs_dax')}`, { allowFail: true });
      r.check(present.exitCode === 0, `no fs_dax trace events in ${TRACING}/events (kernel without FS_DAX tracing?)`);
      await r.sh(`echo 0 > ${t('tracing_on')}; echo > ${t('trace')}; echo 1 > ${t('events/fs_dax/enable')}`);
      await r.sh(command('rm', '-f', p.path));
      // A 2 MiB extent size hint makes xfs allocate PMD-aligned extents; ext4 has no such knob (and fails quietly here).
      await r.sh(`${command('xfs_io', '-f', '-c', 'extsize 2m', p.path)} 2>/dev/null || true`);
      await r.sh(command('xfs_io', '-f', '-c', `falloc 0 ${p.size}`, p.path));
      await r.sh(`echo 1 > ${t('tracing_on')}`);
      const touched = await r.sh(command('xfs_io', '-c', `mmap -rw 0 ${p.size}`, '-c', `mwrite -S 0x5a 0 ${p.size}`, '-c', `msync -s 0 ${p.size}`, p.path), { allowFail: true });
      await r.sh(`echo 0 > ${t('tracing_on')}; echo 0 > ${t('events/fs_dax/enable')}`);
      const trace = await r.sh(`grep -E ' dax_[a-z_]+:' ${t('trace')} | tail -n 2000`, { allowFail: true });
      r.check(touched.exitCode === 0, `mapping and writing ${formatSize(p.size)} of ${p.path} failed: ${touched.stderr.trim()}`);
      const f = daxFaults(trace.stdout);
      const mapped = pmdMapped(f);
      const pte = Object.values(f.pte).reduce((a, b) => a + b, 0);
      r.details.pmdFaults = f.pmd;
      r.details.pteFaults = f.pte;
      r.details.events = f.events;
      const seen = `PMD faults ${JSON.stringify(f.pmd)}, PTE faults ${JSON.stringify(f.pte)}`;
      if (p.expect === 'pmd') r.check(mapped > 0, `no 2 MiB DAX mapping: ${seen}`);
      if (p.expect === 'pte') r.check(pte + mapped > 0, `no DAX faults at all: ${seen}`);
      if (p.expect === 'none') r.check(Object.keys(f.events).length === 0, `fs_dax events on a file that should use the page cache: ${JSON.stringify(f.events)}`);
    }),
};
