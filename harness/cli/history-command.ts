import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { inputError } from '../common/errors.js';
import { ExitCode } from '../common/exit-codes.js';
import { writeFileAtomic } from '../common/fs.js';
import { readRun } from '../results/read.js';
import { historyHtml } from '../report/history-html.js';
import { buildHistory, historyText } from '../results/history.js';
import type { RunResult } from '../model/results.js';

const collect = (v: string, prev: string[]) => [...prev, v];

/** Run folders, or folders of run folders (a nightly results root). */
async function runsOf(paths: string[]): Promise<RunResult[]> {
  const runs: RunResult[] = [];
  for (const p of paths) {
    const st = await stat(p).catch(() => undefined);
    if (!st?.isDirectory()) throw inputError(`${p}: no such run folder`);
    if (await stat(join(p, 'results.json')).catch(() => undefined)) {
      runs.push(await readRun(p));
      continue;
    }
    const subs = [];
    for (const d of (await readdir(p)).sort()) if (await stat(join(p, d, 'results.json')).catch(() => undefined)) subs.push(join(p, d));
    if (!subs.length) throw inputError(`${p}: neither a run folder nor a folder of runs (no results.json in it or its subfolders)`);
    for (const d of subs) runs.push(await readRun(d));
  }
  return runs;
}

export function registerHistory(program: Command, setExit: (code: number) => void): void {
  program
    .command('history')
    .description('case status and metric trends over several runs (nights): since when a case fails, each metric followed by its stable id with compare\'s noise-aware verdict against up to 3 earlier runs; exit 1 when the newest run regressed a gated metric')
    .argument('<runs...>', 'run folders, or folders holding run folders (e.g. results/)')
    .option('--metric <id>', 'gate on this metric id (`<case> :: <point> :: <metric>`, as compare names points; repeatable); default: every metric', collect, [] as string[])
    .option('--html <file>', 'also write a self-contained HTML page: status table and a trend plot per metric')
    .action(async (paths: string[], o: { metric: string[]; html?: string }) => {
      const runs = await runsOf(paths);
      if (runs.length < 2) throw inputError(`history needs at least two runs (found ${runs.length} in ${paths.join(' ')})`);
      const h = buildHistory(runs);
      const known = new Set(h.metrics.map((m) => m.id));
      for (const id of o.metric) if (!known.has(id)) throw inputError(`--metric ${id}: no such metric in these runs (known: ${[...known].slice(0, 10).join('; ')}${known.size > 10 ? '; …' : ''})`);
      process.stdout.write(historyText(h));
      if (o.html) {
        await writeFileAtomic(o.html, historyHtml(h));
        process.stderr.write(`ramdax-harness: wrote ${o.html}\n`);
      }
      const gated = h.metrics.filter((m) => !o.metric.length || o.metric.includes(m.id));
      const regressed = gated.filter((m) => m.verdicts.at(-1) === 'regression');
      for (const m of regressed) process.stderr.write(`ramdax-harness: regression in the newest run: ${m.id}: ${m.why.at(-1)}\n`);
      setExit(regressed.length ? ExitCode.testFailed : ExitCode.ok);
    });
}
