/** ccache's per-build statistics log (CCACHE_STATSLOG): one `# FILE` line per compiler call, then its counters. Pure. */
export interface CcacheStats {
  /** Compiler calls ccache saw. */
  calls: number;
  hits: number;
  misses: number;
  /** Calls ccache could not cache (linking, preprocessing only, …). */
  other: number;
}

export function parseStatsLog(text: string): CcacheStats {
  const s: CcacheStats = { calls: 0, hits: 0, misses: 0, other: 0 };
  let counters: string[] | undefined;
  const close = () => {
    if (!counters) return;
    s.calls++;
    if (counters.includes('direct_cache_hit') || counters.includes('preprocessed_cache_hit')) s.hits++;
    else if (counters.includes('cache_miss')) s.misses++;
    else s.other++;
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('# ')) {
      close();
      counters = [];
    } else if (counters && line.trim()) counters.push(line.trim());
  }
  close();
  return s;
}

/** `12 hits / 40 calls (30 %)`, or undefined when ccache compiled nothing. */
export function describeStats(s: CcacheStats | undefined): string | undefined {
  if (!s || s.hits + s.misses === 0) return undefined;
  return `ccache ${s.hits} hit(s), ${s.misses} miss(es) (${Math.round((100 * s.hits) / (s.hits + s.misses))} % hits)`;
}
