import type { RunResult } from '../../harness/model/results.js';

/** A run that has just begun, for reporter tests. */
export const emptyRun = (): RunResult => ({
  runId: 'run-1',
  dir: '/results/run-1',
  startedAt: '2025-01-01T00:00:00.000Z',
  status: 'running',
  harness: { version: '0.1.0', node: 'v20.0.0' },
  host: { cpu: 'test', cores: 1, loadavg: [0, 0, 0] },
  cases: [],
  counts: { pass: 0, fail: 0, error: 0, miss: 0, skip: 0 },
});
