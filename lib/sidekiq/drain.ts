/**
 * The drain gate's window maths (pure) and its sampling loop (clock and reader injected,
 * so tests drive it against a real Redis without real minutes going by).
 *
 * Rule, evaluated after every sample: the gate passes when
 *  1. the latest sample's pending total (queued + scheduled/retries due within the window)
 *     is <= maxSize and its busy count <= maxBusy;
 *  2. it is no higher than any earlier sample in the trailing window (not increasing);
 *  3. the trailing run of samples meeting (1) spans at least settleSeconds, so at least
 *     one Sidekiq heartbeat (busy count) was taken after the queue looked drained.
 * A queue that is already empty therefore passes after settleSeconds, not after a fixed
 * multi-minute window; a draining queue passes as soon as it reaches the threshold.
 */
import { GateError, isMaintenanceError, oneLine } from "../errors";
import { formatSeconds, realClock, type Clock, type ProgressReporter } from "../progress";
import { pendingTotal, type SidekiqSnapshot } from "./api";
import type { DrainSettings } from "./config";

export interface DrainSample {
  /** ms since the epoch (Redis server time when read from Redis). */
  at: number;
  /** Pending total the gate judges: enqueued + scheduledDue + retriesDue. */
  total: number;
  enqueued: number;
  scheduledDue: number;
  retriesDue: number;
  busy: number;
  /** Paused queues that still hold jobs: they will not drain on their own. */
  pausedWithJobs: string[];
}

export function toSample(snapshot: SidekiqSnapshot): DrainSample {
  return {
    at: snapshot.at,
    total: pendingTotal(snapshot),
    enqueued: snapshot.enqueued,
    scheduledDue: snapshot.scheduledDue,
    retriesDue: snapshot.retriesDue,
    busy: snapshot.busy,
    pausedWithJobs: snapshot.queues.filter((q) => q.paused && q.size > 0).map((q) => q.name),
  };
}

export type Verdict = { pass: true; reason: string } | { pass: false; reason: string };

type Limits = Pick<DrainSettings, "windowSeconds" | "settleSeconds" | "maxSize" | "maxBusy">;

const quiet = (s: DrainSample, limits: Limits) => s.total <= limits.maxSize && s.busy <= limits.maxBusy;

/** Judge the samples so far (oldest first) by the rule above. */
export function evaluateWindow(samples: readonly DrainSample[], limits: Limits): Verdict {
  const last = samples[samples.length - 1];
  if (!last) return { pass: false, reason: "no sample yet" };
  if (last.total > limits.maxSize) {
    return { pass: false, reason: `pending ${last.total} > max size ${limits.maxSize}` };
  }
  if (last.busy > limits.maxBusy) {
    return { pass: false, reason: `${last.busy} job(s) in flight > max busy ${limits.maxBusy}` };
  }
  const window = samples.filter((s) => s.at >= last.at - limits.windowSeconds * 1000);
  const peak = window.find((s) => s.total < last.total);
  if (peak) {
    return {
      pass: false,
      reason: `increasing: ${peak.total} -> ${last.total} within the ${limits.windowSeconds}s window`,
    };
  }
  let runStart = last;
  for (let i = samples.length - 1; i >= 0 && quiet(samples[i], limits); i--) runStart = samples[i];
  const settled = (last.at - runStart.at) / 1000;
  if (settled < limits.settleSeconds) {
    return {
      pass: false,
      reason: `settling: quiet for ${formatSeconds(settled)} of ${formatSeconds(limits.settleSeconds)}`,
    };
  }
  return {
    pass: true,
    reason: `pending ${last.total}, busy ${last.busy}, quiet for ${formatSeconds(settled)}`,
  };
}

/**
 * "Non-zero and not falling" (the seed's advice to scale Sidekiq up before shutdown):
 * the last sample is over the threshold and no lower than the first.
 */
export function preflightVerdict(samples: readonly DrainSample[], maxSize: number): Verdict {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (!first || !last) return { pass: false, reason: "no sample" };
  const paused = [...new Set(samples.flatMap((s) => s.pausedWithJobs))];
  const pausedNote =
    paused.length > 0 ? `; paused queue(s) holding jobs: ${paused.join(", ")} (unpause them)` : "";
  if (last.total <= maxSize)
    return { pass: true, reason: `pending ${last.total} <= ${maxSize}${pausedNote}` };
  if (samples.length > 1 && last.total < first.total) {
    return { pass: true, reason: `pending ${first.total} -> ${last.total}, falling${pausedNote}` };
  }
  return {
    pass: false,
    reason:
      `Sidekiq queue is non-zero and not falling (${samples.map((s) => s.total).join(" -> ")} pending, ` +
      `busy ${last.busy}); scale tines-sidekiq up and let it drain before starting the shutdown${pausedNote}`,
  };
}

/** `12:00:05 pending 40 busy 2` for each sample, for messages and audit outputs. */
export function formatSamples(samples: readonly DrainSample[], limit = 8): string {
  const shown = samples.slice(-limit);
  const skipped = samples.length - shown.length;
  const text = shown
    .map((s) => `${new Date(s.at).toISOString().slice(11, 19)} pending ${s.total} busy ${s.busy}`)
    .join(", ");
  return skipped > 0 ? `(${skipped} earlier) ${text}` : text;
}

export interface DrainOutcome {
  passed: true;
  reason: string;
  startedAt: number;
  finishedAt: number;
  samples: DrainSample[];
}

export interface WaitOptions {
  clock?: Clock;
  signal?: AbortSignal;
  /** Prefix of progress lines, e.g. `sidekiq-drain`. */
  label?: string;
}

function describe(sample: DrainSample, snapshot: SidekiqSnapshot): string {
  const queues = snapshot.queues
    .filter((q) => q.size > 0)
    .map((q) => `${q.name}=${q.size}${q.paused ? " (paused)" : ""}`)
    .join(" ");
  return (
    `pending ${sample.total} (queued ${sample.enqueued}${queues ? `: ${queues}` : ""}, ` +
    `scheduled due ${sample.scheduledDue}, retries due ${sample.retriesDue}), busy ${sample.busy}`
  );
}

/**
 * Sample every interval until the rule passes or the timeout is reached. On timeout (or
 * abort) throws GateError with the last samples, so the step that would stop Sidekiq never
 * runs. The first read failing is fatal (bad URL, wrong password); later failures are
 * reported and restart the window, since a gap proves nothing about the queue.
 */
export async function waitForDrain(
  read: () => Promise<SidekiqSnapshot>,
  settings: DrainSettings,
  reporter: ProgressReporter,
  options: WaitOptions = {},
): Promise<DrainOutcome> {
  const clock = options.clock ?? realClock;
  const label = options.label ?? "sidekiq-drain";
  const startedAt = clock.now();
  const deadline = startedAt + settings.timeoutSeconds * 1000;
  const samples: DrainSample[] = [];
  const all: DrainSample[] = [];
  let lastReason = "no sample yet";
  let everRead = false;
  for (;;) {
    if (options.signal?.aborted) {
      throw new GateError(`${label}: aborted while waiting (${lastReason}); samples: ${formatSamples(all)}`);
    }
    try {
      const snapshot = await read();
      everRead = true;
      // The loop's clock, not Redis time, dates samples: the window and the deadline share one clock.
      const sample = { ...toSample(snapshot), at: clock.now() };
      samples.push(sample);
      all.push(sample);
      while (samples.length > 0 && samples[0].at < sample.at - settings.windowSeconds * 1000) samples.shift();
      const verdict = evaluateWindow(samples, settings);
      lastReason = verdict.reason;
      const left = (deadline - clock.now()) / 1000;
      if (verdict.pass) {
        reporter.info(`${label}: passed: ${describe(sample, snapshot)}; ${verdict.reason}`);
        return { passed: true, reason: verdict.reason, startedAt, finishedAt: clock.now(), samples: all };
      }
      const paused = sample.pausedWithJobs.length > 0 ? `; paused: ${sample.pausedWithJobs.join(", ")}` : "";
      reporter.info(
        `${label}: ${describe(sample, snapshot)}; waiting for pending <= ${settings.maxSize}, busy <= ${settings.maxBusy}, ` +
          `not increasing (${verdict.reason})${paused}; ${formatSeconds(left)} left`,
      );
    } catch (error) {
      if (!everRead || !isMaintenanceError(error)) throw error;
      lastReason = `read failed: ${oneLine(error)}`;
      samples.length = 0;
      reporter.warn(`${label}: ${lastReason}; retrying`);
    }
    const now = clock.now();
    if (now + settings.intervalSeconds * 1000 > deadline) {
      const paused = [...new Set(all.slice(-1).flatMap((s) => s.pausedWithJobs))];
      throw new GateError(
        `${label}: queue did not drain within ${formatSeconds(settings.timeoutSeconds)} (${lastReason}); ` +
          `Sidekiq left running, no job lost${paused.length ? `; paused queue(s) holding jobs: ${paused.join(", ")}` : ""}; ` +
          `last samples: ${formatSamples(all)}`,
      );
    }
    await clock.sleep(settings.intervalSeconds * 1000, options.signal);
  }
}

/**
 * Take samples over `seconds` at `intervalSeconds` (at least two when seconds > 0) for the
 * shutdown pre-flight. Read errors are fatal here: the shutdown has not started yet.
 */
export async function samplePreflight(
  read: () => Promise<SidekiqSnapshot>,
  seconds: number,
  intervalSeconds: number,
  reporter: ProgressReporter,
  options: WaitOptions = {},
): Promise<DrainSample[]> {
  const clock = options.clock ?? realClock;
  const label = options.label ?? "sidekiq-preflight";
  const start = clock.now();
  const samples: DrainSample[] = [];
  for (;;) {
    const snapshot = await read();
    const sample = { ...toSample(snapshot), at: clock.now() };
    samples.push(sample);
    const left = seconds - (clock.now() - start) / 1000;
    if (left <= 0 || options.signal?.aborted) return samples;
    reporter.info(`${label}: ${describe(sample, snapshot)}; sampling, ${formatSeconds(left)} left`);
    await clock.sleep(Math.min(intervalSeconds, left) * 1000, options.signal);
  }
}
