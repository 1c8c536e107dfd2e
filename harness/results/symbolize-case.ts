import { join } from 'node:path';
import { describeError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { currentKernel, type KernelArtifact } from '../setup/artifacts.js';
import { ensureSymbols, localSymbols } from '../setup/symbols.js';
import { readBannerFromFile, symbolizeFindings, vmlinuxBanners } from '../triage/symbolize.js';
import type { CaseResult } from '../model/results.js';

/**
 * Give every finding of a case file:line per frame, when debug symbols of its
 * kernel are at hand (`fetch`: download Debian's -dbg package if needed). The
 * vmlinux must be the kernel that printed the log: its `Linux version` banner
 * is compared with the console's, else nothing is symbolized (a wrong vmlinux
 * gives wrong lines, which is worse than none). Never throws: returns a note.
 */
export async function symbolizeCase(
  result: CaseResult,
  runDir: string,
  o: { cacheDir: string; log: Logger; fetch?: boolean; kernel?: KernelArtifact },
): Promise<string | undefined> {
  const findings = result.points.flatMap((p) => p.findings ?? []).filter((f) => f.report?.length);
  // Findings recorded by builds of the harness from before reports were kept have nothing to symbolize.
  if (!findings.length || !result.kernel) return undefined;
  try {
    const k = o.kernel ?? (await currentKernel(o.cacheDir, result.kernel.name));
    if (k.release !== result.kernel.release) return `no symbols: the cached kernel '${k.name}' is ${k.release} now, the case ran ${result.kernel.release}`;
    const sym = o.fetch ? await ensureSymbols(o.cacheDir, k, o.log) : await localSymbols(o.cacheDir, k);
    if (!sym) return k.kind === 'debian' ? `no symbols for ${k.release} (add --symbols to fetch ${`linux-image-${k.release}-dbg`})` : `no debug vmlinux for ${k.name}`;
    const consoleBanner = result.files.console ? await readBannerFromFile(join(runDir, result.files.console)) : undefined;
    const banners = await vmlinuxBanners(sym.vmlinux);
    if (consoleBanner && banners.length && !banners.includes(consoleBanner)) {
      return `no symbols: ${sym.vmlinux} is another build than the kernel that ran (its banner: ${banners.at(-1)}; the console's: ${consoleBanner})`;
    }
    const n = await symbolizeFindings(findings, sym);
    return `${n} frame(s) symbolized`;
  } catch (err) {
    o.log.warn(`${result.id}: traces not symbolized: ${describeError(err)}`);
    return `not symbolized: ${describeError(err)}`;
  }
}
