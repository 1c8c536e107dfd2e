import { infraError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { aptInstall, canApt, onPath } from '../setup/host-packages.js';

/**
 * The host tools a coverage report needs: gcov (gcc's, the compiler that
 * built the kernel) and lcov's geninfo/lcov/genhtml (Debian package lcov).
 * Installed with apt when coverage is asked for (root), else named (exit 3),
 * before anything boots.
 */
export const COVERAGE_TOOLS: readonly { pkg: string; bins: string[] }[] = [
  { pkg: 'lcov', bins: ['lcov', 'geninfo', 'genhtml'] },
  { pkg: 'gcc', bins: ['gcov'] },
];

export async function missingCoverageTools(probe: (bin: string) => Promise<boolean> = onPath): Promise<string[]> {
  const out: string[] = [];
  for (const t of COVERAGE_TOOLS) {
    for (const b of t.bins) {
      if (!(await probe(b))) {
        out.push(t.pkg);
        break;
      }
    }
  }
  return out;
}

export async function ensureCoverageTools(log: Logger): Promise<{ installed: string[] }> {
  const missing = await missingCoverageTools();
  if (!missing.length) return { installed: [] };
  if (process.env.RAMDAX_HARNESS_NO_APT === '1' || !(await canApt())) {
    throw infraError(`coverage needs ${missing.join(', ')}, which this host lacks`, undefined, `install as root: apt-get install ${missing.join(' ')} (the harness does this itself when run as root)`);
  }
  log.step(`coverage tools: installing ${missing.join(' ')} with apt-get`);
  await aptInstall(log, missing);
  const still = await missingCoverageTools();
  if (still.length) throw infraError(`coverage tools still missing after apt-get install: ${still.join(', ')}`);
  return { installed: missing };
}
