/**
 * Pure Kconfig helpers: read fragments and .config files, and find the
 * requests a resolved .config did not honour (Kconfig drops a symbol
 * silently when a dependency is missing; the harness says so instead).
 */

/** One `CONFIG_X=v` or `# CONFIG_X is not set` line of a fragment. */
export interface ConfigRequest {
  symbol: string;
  /** 'y', 'm', a number or a quoted string; 'n' for "is not set". */
  value: string;
  file: string;
  line: number;
}

const SET = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/;
const UNSET = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/;

export function parseFragment(text: string, file: string): ConfigRequest[] {
  const out: ConfigRequest[] = [];
  text.split('\n').forEach((raw, i) => {
    const l = raw.trim();
    const set = SET.exec(l);
    const unset = UNSET.exec(l);
    if (set) out.push({ symbol: set[1]!, value: set[2]!, file, line: i + 1 });
    else if (unset) out.push({ symbol: unset[1]!, value: 'n', file, line: i + 1 });
  });
  return out;
}

/** symbol → value of a .config ('n' for "is not set"; absent symbols are missing). */
export function parseConfig(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const r of parseFragment(text, '.config')) m.set(r.symbol, r.value);
  return m;
}

export interface DroppedRequest extends ConfigRequest {
  /** What the resolved .config has: a value, 'n', or undefined when the symbol is not there at all. */
  got: string | undefined;
}

/**
 * The requests the resolved config does not carry. When several fragments set
 * the same symbol, only the last request counts (that is what merge_config does).
 */
export function droppedRequests(requests: readonly ConfigRequest[], resolved: Map<string, string>): DroppedRequest[] {
  const last = new Map<string, ConfigRequest>();
  for (const r of requests) last.set(r.symbol, r);
  const out: DroppedRequest[] = [];
  for (const r of last.values()) {
    const got = resolved.get(r.symbol);
    const ok = r.value === 'n' ? got === undefined || got === 'n' : got === r.value;
    if (!ok) out.push({ ...r, got });
  }
  return out;
}

export function describeDropped(d: DroppedRequest): string {
  const want = d.value === 'n' ? `# ${d.symbol} is not set` : `${d.symbol}=${d.value}`;
  const got = d.got === undefined ? 'is not in it (a dependency is missing or the symbol does not exist in this tree)' : d.got === 'n' ? 'has it not set (a dependency is missing)' : `has ${d.symbol}=${d.got}`;
  return `${d.file}:${d.line}: ${want} requested, but the resolved .config ${got}`;
}
