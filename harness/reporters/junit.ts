import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import type { CaseResult, PointResult, RunResult, Status } from '../model/results.js';
import { diagnostic } from './tap.js';

/** Console lines kept under a failing case (JUnit `system-out`). */
export const CONSOLE_TAIL_LINES = 40;

const secs = (ms: number) => (ms / 1000).toFixed(3);
const count = (points: PointResult[], ...s: Status[]) => points.filter((p) => s.includes(p.status)).length;

/**
 * JUnit XML (the Jenkins/Surefire dialect GitLab `reports:junit`, Jenkins and
 * GitHub test-report actions read), pure: a testsuite per case, a testcase per
 * point. fail and miss are `failure` (a step that never ran is not a skipped
 * one), error is `error`, skip is `skipped` with the reason. `consoleTails`
 * holds the console tail of failing cases (by case id).
 */
export function junitXml(run: RunResult, consoleTails: ReadonlyMap<string, string> = new Map()): string {
  const all = run.cases.flatMap((c) => c.points);
  const doc = create({ version: '1.0', encoding: 'UTF-8', invalidCharReplacement: '\uFFFD' });
  const root = doc.ele('testsuites', {
    name: `ramdax-harness ${run.runId}`,
    tests: String(all.length),
    failures: String(count(all, 'fail', 'miss')),
    errors: String(count(all, 'error')),
    skipped: String(count(all, 'skip')),
    time: secs(run.cases.reduce((s, c) => s + c.durationMs, 0)),
    timestamp: run.startedAt,
  });
  for (const c of run.cases) suite(root, c, consoleTails.get(c.id));
  return doc.end({ prettyPrint: true });
}

function suite(root: XMLBuilder, c: CaseResult, tail: string | undefined): void {
  const s = root.ele('testsuite', {
    name: c.id,
    tests: String(c.points.length),
    failures: String(count(c.points, 'fail', 'miss')),
    errors: String(count(c.points, 'error')),
    skipped: String(count(c.points, 'skip')),
    time: secs(c.durationMs),
    timestamp: c.startedAt,
    file: c.file,
  });
  const props: [string, string | undefined][] = [
    ['status', c.status],
    ['scenario', c.scenario],
    ['kernel', c.kernel ? `${c.kernel.name} ${c.kernel.release}` : undefined],
    ['accel', c.accel?.accel],
    ['cmdline', c.cmdline],
    ['boot', c.bootId && c.bootId !== c.id ? `shared with ${c.bootId}` : undefined],
  ];
  const p = s.ele('properties');
  for (const [name, value] of props) if (value !== undefined) p.ele('property', { name, value });
  // The first failing or erroring point carries the console tail in its text too (most CI tools show only that).
  const first = c.points.find((p) => p.status === 'fail' || p.status === 'error');
  for (const pt of c.points) testcase(s, c, pt, pt === first ? tail : undefined);
  if (tail && c.status !== 'pass' && c.status !== 'skip') s.ele('system-out').txt(tail);
}

function testcase(s: XMLBuilder, c: CaseResult, p: PointResult, tail?: string): void {
  const tc = s.ele('testcase', { classname: c.id, name: `${String(p.id).padStart(2, '0')} ${p.name}`, time: secs(p.durationMs) });
  const reason = p.reason ?? '';
  const body = () => [...diagnostic(p), ...(tail ? ['--- console tail ---', tail] : [])].join('\n');
  switch (p.status) {
    case 'fail':
      tc.ele('failure', { type: 'fail', message: reason || 'failed' }).txt(body());
      break;
    case 'miss':
      tc.ele('failure', { type: 'miss', message: `missed: ${reason || 'not run'}` });
      break;
    case 'error':
      tc.ele('error', { type: 'error', message: reason || 'harness error' }).txt(body());
      break;
    case 'skip':
      tc.ele('skipped', { message: reason || 'skipped' });
      break;
    default:
      break;
  }
}
