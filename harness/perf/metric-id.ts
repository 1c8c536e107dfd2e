/**
 * The stable id of a measured figure across runs: case, point and metric name
 * (`fsdax-ext4 :: fio seq read :: fio:read-4k-psync:bw`). It never holds a
 * figure, so TAP point names, history rows and gates follow one metric from
 * night to night; what makes two figures comparable (kernel, key, clock…) is
 * checked by compare, not encoded here.
 */
export const METRIC_ID_SEP = ' :: ';

export function metricId(caseId: string, point: string, metric: string): string {
  return [caseId, point, metric].join(METRIC_ID_SEP);
}
