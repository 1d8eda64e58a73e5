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

/** Time source of the waiting loops; tests pass a fake one that advances on `sleep`. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts, so an abort never waits out an interval. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      }
      signal?.addEventListener("abort", done, { once: true });
    }),
};

/**
 * For a polling loop: reports `message` when `line` (the state without the time left)
 * changes, and otherwise at most every `everyMs`, so a long wait stays visible but quiet.
 */
export function quietProgress(
  reporter: ProgressReporter,
  clock: Pick<Clock, "now">,
  everyMs = 30_000,
): (line: string, message: string) => void {
  let lastLine = "";
  let lastReport = -Infinity;
  return (line, message) => {
    if (line === lastLine && clock.now() - lastReport < everyMs) return;
    reporter.info(message);
    lastLine = line;
    lastReport = clock.now();
  };
}
