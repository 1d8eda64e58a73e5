/**
 * Bounds for network calls and waits. A server that accepts a connection and never answers
 * (a hung process, a black-holing proxy) must not hold a gate past its own timeout, and a
 * cancelled update (Ctrl-C, or the engine gone) must not wait for it either.
 */
import { MaintenanceError } from "./errors";

/** Why `signal` was aborted, as one line for a message. */
export function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (typeof reason === "string") return reason;
  if (typeof reason === "object" && reason !== null && typeof (reason as Error).message === "string")
    return (reason as Error).message;
  return "aborted";
}

export interface DeadlineOptions {
  /** Ends the wait early, e.g. the update was cancelled. */
  signal?: AbortSignal;
  /** The error when `ms` pass first. */
  onTimeout: () => Error;
  /** Called when the deadline or the signal ends the wait first: stop the work (close its connection). */
  stop?: () => void;
}

/**
 * `work`, or a rejection once `ms` have passed or `signal` aborts, whichever comes first.
 * `stop` lets the losing work end too instead of running on unobserved.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, options: DeadlineOptions): Promise<T> {
  const { signal } = options;
  if (signal?.aborted) {
    options.stop?.();
    work.catch(() => undefined);
    return Promise.reject(new MaintenanceError(abortReason(signal)));
  }
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const ended = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      options.stop?.();
      reject(options.onTimeout());
    }, ms);
    onAbort = () => {
      options.stop?.();
      reject(new MaintenanceError(abortReason(signal!)));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  work.catch(() => undefined);
  return Promise.race([work, ended]).finally(() => {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  });
}

/** `12s`, `0.5s`: a bound in milliseconds as an operator reads it. */
export function secondsText(ms: number): string {
  const seconds = ms / 1000;
  return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)}s`;
}
