/** Progress lines for humans go to stderr, so stdout stays clean TAP. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  step(message: string): void;
}

export function stderrLogger(prefix = 'ramdax-harness'): Logger {
  const write = (tag: string, message: string) => process.stderr.write(`${prefix}: ${tag}${message}\n`);
  return {
    info: (m) => write('', m),
    warn: (m) => write('warning: ', m),
    step: (m) => write('» ', m),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, step() {} };
