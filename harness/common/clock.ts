import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Time as the runner sees it, passed in: the host clock in a run, a virtual
 * one in unit tests (where a 300 s boot deadline passes in a millisecond).
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolve after `ms`. */
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => sleep(ms),
};
