/**
 * Debian version ordering, as `dpkg --compare-versions` does it (pure;
 * unit-tested against dpkg itself): [epoch:]upstream[-revision], compared
 * part by part; within a part, runs of non-digits by a modified ASCII order
 * (`~` sorts before everything, even the end; letters before other
 * characters) and runs of digits as numbers — so `-10` is newer than `-9`.
 */

function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (/[0-9]/.test(c)) return 0;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

/** dpkg's verrevcmp: one version part against another. */
function compareParts(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !/[0-9]/.test(a[i]!)) || (j < b.length && !/[0-9]/.test(b[j]!))) {
      const ac = order(i < a.length && !/[0-9]/.test(a[i]!) ? a[i] : undefined);
      const bc = order(j < b.length && !/[0-9]/.test(b[j]!) ? b[j] : undefined);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (i < a.length && /[0-9]/.test(a[i]!) && j < b.length && /[0-9]/.test(b[j]!)) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && /[0-9]/.test(a[i]!)) return 1;
    if (j < b.length && /[0-9]/.test(b[j]!)) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

function split(v: string): { epoch: number; upstream: string; revision: string } {
  const colon = v.indexOf(':');
  const epoch = colon > 0 ? Number(v.slice(0, colon)) : 0;
  const rest = colon > 0 ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf('-');
  return { epoch, upstream: dash >= 0 ? rest.slice(0, dash) : rest, revision: dash >= 0 ? rest.slice(dash + 1) : '' };
}

/** < 0 when a is older than b, 0 when equal, > 0 when newer. */
export function compareDebianVersions(a: string, b: string): number {
  const x = split(a);
  const y = split(b);
  if (x.epoch !== y.epoch) return x.epoch - y.epoch;
  return compareParts(x.upstream, y.upstream) || compareParts(x.revision, y.revision);
}

/** The version in a .deb file name `NAME_VERSION_ARCH.deb` (`%3a` is how apt writes the epoch's colon). */
export function debVersion(file: string): string {
  return decodeURIComponent(file.split('_')[1] ?? '');
}

/** The newest of several .deb files of one package, by Debian version ordering (not text order: `-10` > `-9`). */
export function newestDeb(files: string[]): string | undefined {
  return [...files].sort((a, b) => compareDebianVersions(debVersion(a), debVersion(b))).at(-1);
}
