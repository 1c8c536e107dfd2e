/** What one guest command did. */
export interface CommandResult {
  command: string;
  exitCode: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
}

/** The guest as steps see it: a shell (over SSH, or a fake in tests). */
export interface Guest {
  exec(command: string, opts: { timeoutMs: number; stdin?: string }): Promise<CommandResult>;
}

/** A connection to a guest the runner holds: commands, and whether (why) it closed. */
export interface GuestSession extends Guest {
  /** Why the connection is gone, or undefined while it is up. */
  readonly closed: string | undefined;
  /** Close at once (nothing to wait for after a power-off). */
  close(): void;
}
