/**
 * Kernel memory across driver cycles (pure; unit-tested): /proc/meminfo
 * counters and /proc/slabinfo per-cache object counts, read in the guest,
 * and the judgement whether they grow with the number of cycles.
 *
 * A leak in the bind/unbind path grows with every cycle; one-time
 * allocations (a workqueue, an IDA layer, a cache created on first use)
 * happen in the first cycles and then stop. So the figures are sampled
 * after a warm-up and at the end, and the growth per cycle is compared
 * with a tolerance; unreclaimable slab is also sampled after every cycle
 * and its trend estimated with a robust (Theil–Sen) slope.
 */

/** One round trip: drop reclaimable caches, flush SLUB's per-CPU slabs (exact counts), read the figures. */
export const SLAB_SAMPLE_COMMAND = [
  'sync; echo 3 > /proc/sys/vm/drop_caches',
  'for f in /sys/kernel/slab/*/shrink; do echo 1 > "$f"; done 2>/dev/null',
  'cat /proc/meminfo',
  "echo '--- slabinfo'",
  'cat /proc/slabinfo 2>/dev/null',
  'true',
].join('\n');

/** Cheap: the meminfo counters only (after every cycle). */
export const MEMINFO_COMMAND = "grep -E '^(SUnreclaim|Percpu|VmallocUsed|KernelStack|PageTables):' /proc/meminfo";

export interface MemSample {
  /** /proc/meminfo in bytes. */
  meminfo: Record<string, number>;
  /** Cache name → active objects and object size; empty when the kernel has no /proc/slabinfo. */
  slab: Record<string, { active: number; size: number }>;
}

export function parseMeminfo(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^(\w+(?:\(\w+\))?):\s+(\d+)(?: kB)?$/gm)) out[m[1]!] = Number(m[2]) * (/kB$/.test(m[0]) ? 1024 : 1);
  return out;
}

export function parseSlabinfo(text: string): MemSample['slab'] {
  const out: MemSample['slab'] = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('slabinfo') || line.startsWith('#') || !line.trim()) continue;
    const [name, active, , size] = line.trim().split(/\s+/);
    if (name && /^\d+$/.test(active ?? '') && /^\d+$/.test(size ?? '')) out[name] = { active: Number(active), size: Number(size) };
  }
  return out;
}

export function parseSample(text: string): MemSample {
  const [mem = '', slab = ''] = text.split(/^--- slabinfo$/m);
  return { meminfo: parseMeminfo(mem), slab: parseSlabinfo(slab) };
}

/** Theil–Sen estimator: the median of the slopes between all pairs of points (robust to outliers). */
export function theilSen(points: { x: number; y: number }[]): number | undefined {
  const slopes: number[] = [];
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) {
      const dx = points[j]!.x - points[i]!.x;
      if (dx !== 0) slopes.push((points[j]!.y - points[i]!.y) / dx);
    }
  }
  if (!slopes.length) return undefined;
  slopes.sort((a, b) => a - b);
  const mid = slopes.length >> 1;
  return slopes.length % 2 ? slopes[mid]! : (slopes[mid - 1]! + slopes[mid]!) / 2;
}

export interface LeakLimits {
  /** Growth of unreclaimable slab allowed per cycle (bytes), on the trend of per-cycle samples. */
  slabBytesPerCycle: number;
  /** Growth allowed per cycle in any one slab cache (objects), between the warm-up and the final sample. */
  objectsPerCycle: number;
  /** Growth of per-CPU and vmalloc memory allowed per cycle (bytes), between the warm-up and the final sample. */
  otherBytesPerCycle: number;
}

export interface LeakVerdict {
  problems: string[];
  /** Figures for the result: per-cycle trend, the caches that grew most, counter deltas. */
  details: Record<string, unknown>;
}

/**
 * Judge the memory of `cycles` cycles between `first` (after the warm-up)
 * and `last`, with `trend` the unreclaimable slab after each cycle.
 */
export function judgeLeaks(first: MemSample, last: MemSample, cycles: number, trend: { x: number; y: number }[], limits: LeakLimits): LeakVerdict {
  const problems: string[] = [];
  const details: Record<string, unknown> = { cycles };
  if (cycles <= 0) return { problems, details };
  const slope = trend.length >= 3 ? theilSen(trend) : undefined;
  if (slope !== undefined) {
    details.sunreclaimBytesPerCycle = Math.round(slope);
    if (slope > limits.slabBytesPerCycle) problems.push(`unreclaimable slab grows by ${Math.round(slope)} bytes per cycle (trend over ${trend.length} samples; tolerance ${limits.slabBytesPerCycle})`);
  }
  const deltas: Record<string, number> = {};
  for (const k of ['SUnreclaim', 'Percpu', 'VmallocUsed', 'KernelStack', 'PageTables']) {
    if (first.meminfo[k] !== undefined && last.meminfo[k] !== undefined) deltas[k] = last.meminfo[k]! - first.meminfo[k]!;
  }
  details.meminfoDelta = deltas;
  for (const k of ['Percpu', 'VmallocUsed']) {
    const d = deltas[k];
    if (d !== undefined && d / cycles > limits.otherBytesPerCycle) problems.push(`${k} grew by ${d} bytes over ${cycles} cycles (${Math.round(d / cycles)} per cycle; tolerance ${limits.otherBytesPerCycle})`);
  }
  const grown = Object.entries(last.slab)
    .map(([name, v]) => ({ name, delta: v.active - (first.slab[name]?.active ?? 0), size: v.size }))
    .filter((g) => g.delta > 0)
    .sort((a, b) => b.delta * b.size - a.delta * a.size);
  details.slabGrowth = Object.fromEntries(grown.slice(0, 8).map((g) => [g.name, g.delta]));
  for (const g of grown) {
    if (g.delta / cycles > limits.objectsPerCycle) problems.push(`slab cache ${g.name} grew by ${g.delta} objects of ${g.size} bytes over ${cycles} cycles (tolerance ${limits.objectsPerCycle} per cycle)`);
  }
  return { problems, details };
}
