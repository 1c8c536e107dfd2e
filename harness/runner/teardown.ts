import { describeError } from '../common/errors.js';
import type { Logger } from '../common/log.js';

/**
 * Undo actions, registered before the thing they undo is set up and run in
 * reverse order; one failing never stops the others.
 */
export class Teardown {
  private readonly fns: (() => Promise<void> | void)[] = [];
  constructor(private readonly log: Logger) {}

  add(fn: () => Promise<void> | void): void {
    this.fns.push(fn);
  }

  async run(): Promise<void> {
    while (this.fns.length) {
      const fn = this.fns.pop()!;
      try {
        await fn();
      } catch (err) {
        this.log.warn(`teardown: ${describeError(err)}`);
      }
    }
  }
}
