import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { loadCatalog, type Catalog } from '../catalog/catalog.js';
import { inputError } from '../common/errors.js';
import { ExitCode } from '../common/exit-codes.js';
import { exists } from '../common/fs.js';
import { currentKernel } from '../setup/artifacts.js';
import { consoleFacts, scenarioFromConsole } from '../scenario/from-console.js';
import { loadCases } from './load-cases.js';
import { cacheOption } from './options.js';

/** The kernels/*.yaml name for a release: a fetched kernel of that exact release, else a Debian kernel of its series. */
export async function kernelForRelease(release: string | undefined, catalog: Catalog, cacheDir: string): Promise<{ name: string; note: string }> {
  const fallback = catalog.kernels.has('debian-7.2') ? 'debian-7.2' : [...catalog.kernels.keys()][0] ?? 'debian-7.2';
  if (!release) return { name: fallback, note: `no release in the log: '${fallback}' chosen` };
  for (const name of catalog.kernels.keys()) {
    const k = await currentKernel(cacheDir, name).catch(() => undefined);
    if (k?.release === release) return { name, note: `'${name}' is that release here` };
  }
  const series = /^(\d+\.\d+)[.\d]*/.exec(release)?.[1];
  const debian = [...catalog.kernels.values()].find((d) => d.debian?.series === series && /\+deb/.test(release));
  if (debian) return { name: debian.name, note: `'${debian.name}' is Debian's ${series} series (fetch it to compare releases)` };
  const same = [...catalog.kernels.values()].find((d) => d.debian?.series === series || (d.source && typeof d.source.tree !== 'string' && d.source.tree.debian.series === series));
  if (same) return { name: same.name, note: `'${same.name}' is a ${series} kernel here, not the report's build` };
  return { name: fallback, note: `no ${series ?? release} kernel is defined in kernels/: '${fallback}' chosen, change kernel:` };
}

export function registerNew(program: Command, setExit: (code: number) => void): void {
  program
    .command('new')
    .description('write a scenario from a bug report: --from-console takes a console log or dmesg, and writes a scenario that boots the same memmap= carve-outs and arguments, binds ramdax, runs the steps its trace suggests and expects its finding (expect: { finding: TITLE })')
    .requiredOption('--from-console <file>', 'a console log or dmesg (as pasted in a report)')
    .option('--name <name>', 'the scenario name (default: from the finding)')
    .option('-o, --out <file>', 'write the scenario here (default: stdout); an existing file is not overwritten')
    .addOption(cacheOption())
    .action(async (o: { fromConsole: string; name?: string; out?: string; cache: string }) => {
      const text = await readFile(o.fromConsole, 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw inputError(`${o.fromConsole}:1:1: cannot read (${err.code ?? err.message})`);
      });
      const facts = consoleFacts(text);
      if (!facts.cmdline && !facts.release && !facts.finding) throw inputError(`${o.fromConsole}:1:1: no kernel command line, version or finding in it: is it a console log or dmesg?`);
      const catalog = await loadCatalog();
      const k = await kernelForRelease(facts.release, catalog, o.cache);
      const name = o.name ?? `from-${basename(o.fromConsole).replace(/\.[^.]*$/, '')}`.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').slice(0, 80);
      const { yaml } = scenarioFromConsole(text, { name, kernel: k.name, source: basename(o.fromConsole), kernelNote: k.note });
      if (o.out) {
        if (await exists(o.out)) throw inputError(`${o.out}:1:1: exists already; not overwritten`);
        await writeFile(o.out, yaml);
        // The scenario must load: checked like `validate` does (a problem here is a harness bug, reported as bad input).
        const cases = await loadCases([o.out], []);
        process.stderr.write(`ramdax-harness: wrote ${o.out} (${cases.length} case; expects ${facts.finding ? `'${cases[0]!.scenario.expect?.finding}'` : 'no finding'})\n`);
      } else process.stdout.write(yaml);
      setExit(ExitCode.ok);
    });
}
