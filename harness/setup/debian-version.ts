/** Picking a Debian kernel package version by series (pure; unit-tested). */

export interface DebianKernelVersion {
  /** The kernel release, as `uname -r` prints it: `7.2.13+deb14-amd64`. */
  release: string;
  upstream: number[];
  debRevision: number;
}

/** All releases offered for `series` and `flavour` among linux-binary-* package names, newest first. */
export function offeredReleases(names: readonly string[], series: string, flavour: string): DebianKernelVersion[] {
  const re = new RegExp(`^linux-binary-(${series.replace('.', '\\.')}\\.(\\d+))\\+deb(\\d+)-${flavour.replace('-', '\\-')}$`);
  const out: DebianKernelVersion[] = [];
  for (const name of names) {
    const m = re.exec(name);
    if (!m) continue;
    out.push({
      release: name.slice('linux-binary-'.length),
      upstream: m[1]!.split('.').map(Number),
      debRevision: Number(m[3]),
    });
  }
  return out.sort(compareVersions).reverse();
}

export function compareVersions(a: DebianKernelVersion, b: DebianKernelVersion): number {
  for (let i = 0; i < Math.max(a.upstream.length, b.upstream.length); i++) {
    const d = (a.upstream[i] ?? 0) - (b.upstream[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.debRevision - b.debRevision;
}

/** Upstream versions of every linux-binary-* package on offer, for an error message. */
export function describeOffered(names: readonly string[]): string {
  const versions = new Set<string>();
  for (const n of names) {
    const m = /^linux-binary-(\d+\.\d+)/.exec(n);
    if (m) versions.add(m[1]!);
  }
  return [...versions].sort((a, b) => a.localeCompare(b, undefined, { numeric: true })).join(', ') || 'none';
}
