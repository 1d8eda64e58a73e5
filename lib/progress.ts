/**
 * Where long waits report progress. The Pulumi program passes one that writes to
 * `pulumi.log.info` against the resource; the CLI passes one that writes to stderr.
 * Keeping this an interface lets the pure waiting logic stay free of Pulumi.
 */
export interface ProgressReporter {
  info(message: string): void;
  warn(message: string): void;
}

export const stderrReporter: ProgressReporter = {
  info: (message) => process.stderr.write(`${message}\n`),
  warn: (message) => process.stderr.write(`warning: ${message}\n`),
};

export const silentReporter: ProgressReporter = { info: () => undefined, warn: () => undefined };

export function formatSeconds(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}
