/** Exit statuses of every ramdax-harness command (documented in --help and README). */
export const ExitCode = {
  /** Every test point passed or was skipped. */
  ok: 0,
  /** At least one test point failed (the kernel or the checked behaviour is wrong). */
  testFailed: 1,
  /** Bad input: scenario, kernel or image definition, command-line arguments. Nothing was started. */
  badInput: 2,
  /** The harness or the host broke (QEMU missing, cache not set up, disk full, ...). */
  infra: 3,
  /** Interrupted by SIGINT/SIGTERM; unfinished tests are marked, results flushed. */
  interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export const exitCodeHelp = `Exit status:
  0    all test points passed or were skipped
  1    a test point failed (kernel or checked behaviour wrong)
  2    bad input (scenario/kernel/image definition, arguments); nothing started
  3    harness or host failure (QEMU, cache not set up, disk, network)
  130  interrupted (SIGINT/SIGTERM); finished results are kept`;
