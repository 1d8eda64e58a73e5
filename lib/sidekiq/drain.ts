/**
 * The drain gate's window maths (pure) and its sampling loop (clock and reader injected,
 * so tests drive it against a real Redis without real minutes going by).
 *
 * Rule, evaluated after every sample: the gate passes when
 *  1. the latest sample's pending total (queued + scheduled/retries due within the window)
 *     is <= maxSize and its busy count <= maxBusy;
 *  2. it is no higher than any earlier sample in the trailing window (not increasing);
 *  3. the trailing run of samples meeting (1) spans at least settleSeconds, and at least one
 *     heartbeat period (plus a margin) of the slowest Sidekiq process seen in that run:
 *     Sidekiq writes a process's busy count only at its heartbeat (every 5 s in Sidekiq 6,
 *     10 s in 7 and 8), so a job fetched just after a heartbeat is invisible until the next;
 *  4. every live process has written a heartbeat since that run began, so each busy count
 *     the gate trusts was taken after the queue looked drained. A process that stopped
 *     sending heartbeats (killed) holds the gate until Sidekiq's 60 s expiry drops it.
 * The run is not limited to the window: the window only bounds (2) and the look-ahead.
 */
import { abortReason } from "../deadline";
import { GateError, isMaintenanceError, oneLine } from "../errors";
import { formatSeconds, realClock, type Clock, type ProgressReporter } from "../progress";
import {
  pendingTotal,
  REDIS_IO_TIMEOUT_MS,
  type ProcessBeat,
  type ReadBound,
  type SidekiqSnapshot,
} from "./api";
import { HEARTBEAT_MARGIN_SECONDS, settleNeeded, type DrainSettings } from "./config";
import { heldFromSnapshot, heldJobsSentence, type HeldDisposition } from "./heldJobs";

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
  /** Live Sidekiq processes and their last heartbeats. */
  processes: ProcessBeat[];
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
    processes: snapshot.processList,
  };
}

export type Verdict = { pass: true; reason: string } | { pass: false; reason: string };

type Limits = Pick<DrainSettings, "windowSeconds" | "settleSeconds" | "maxSize" | "maxBusy">;

const quiet = (s: DrainSample, limits: Limits) => s.total <= limits.maxSize && s.busy <= limits.maxBusy;

/** Index of the first sample of the trailing run meeting rule (1); samples.length when none. */
export function quietRunStart(samples: readonly DrainSample[], limits: Limits): number {
  let start = samples.length;
  while (start > 0 && quiet(samples[start - 1], limits)) start -= 1;
  return start;
}

/** A process whose last heartbeat is older than its period allows: stopped or killed. */
export function isSilent(p: ProcessBeat): boolean {
  return p.ageSeconds > p.heartbeatSeconds + HEARTBEAT_MARGIN_SECONDS;
}

/**
 * What the gate can say about processes that stopped sending heartbeats. It cannot tell
 * whether their jobs finished: with Sidekiq's basic fetch a killed process's jobs are no
 * longer in Redis, so it never claims they are safe.
 */
export function silentProcessNotes(processes: readonly ProcessBeat[]): string {
  const silent = processes.filter(isSilent);
  if (silent.length === 0) return "";
  const each = silent.map(
    (p) =>
      `process ${p.identity} has sent no heartbeat for ${formatSeconds(p.ageSeconds)} ` +
      `(expected every ${p.heartbeatSeconds}s; last one reported busy ${p.busy})`,
  );
  const held = silent.reduce((sum, p) => sum + p.busy, 0);
  return (
    `; ${each.join("; ")}; Sidekiq drops a process 60s after its last heartbeat and the gate waits for that` +
    (held > 0
      ? `; if it was killed, the ${held} job(s) it held are not in Redis any more (basic fetch) ` +
        "and the gate cannot tell whether they finished: check that process's log"
      : "")
  );
}

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
  const run = samples.slice(quietRunStart(samples, limits));
  const runStart = run[0];
  const beats = run.flatMap((s) => s.processes.map((p) => p.heartbeatSeconds));
  const heartbeat = beats.length > 0 ? Math.max(...beats) : undefined;
  const needed = settleNeeded(limits.settleSeconds, heartbeat);
  const settled = (last.at - runStart.at) / 1000;
  if (settled < needed) {
    const raised =
      needed > limits.settleSeconds
        ? `, raised from ${limits.settleSeconds}s to cover a ${heartbeat}s Sidekiq heartbeat`
        : "";
    return {
      pass: false,
      reason: `settling: quiet for ${formatSeconds(settled)} of ${formatSeconds(needed)}${raised}`,
    };
  }
  const unheard = last.processes.filter((p) => {
    const before = runStart.processes.find((q) => q.identity === p.identity);
    return before !== undefined && p.beat <= before.beat;
  });
  if (unheard.length > 0) {
    return {
      pass: false,
      reason:
        `waiting for a heartbeat since the queue went quiet from ${unheard.map((p) => p.identity).join(", ")} ` +
        `(last one ${unheard.map((p) => formatSeconds(p.ageSeconds)).join(", ")} ago)`,
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
  /** The snapshot the gate passed on. */
  last: SidekiqSnapshot;
}

export interface WaitOptions {
  clock?: Clock;
  signal?: AbortSignal;
  /** Prefix of progress lines, e.g. `sidekiq-drain`. */
  label?: string;
  /**
   * What becomes of the jobs no drain empties (scheduled, retries, dead): given, the last
   * line says how many there are and that, e.g. "carried to the new Redis at the switch".
   */
  held?: HeldDisposition;
}

/** The line about what the drain leaves: scheduled jobs, retries and dead jobs are not drained. */
export function heldLine(label: string, snapshot: SidekiqSnapshot, disposition: HeldDisposition): string {
  return `${label}: not emptied by a drain: ${heldJobsSentence(heldFromSnapshot(snapshot), disposition, snapshot.at)}`;
}

/** One read of Sidekiq's state, within the bound it is given. */
export type SnapshotReader = (bound: ReadBound) => Promise<SidekiqSnapshot>;

/**
 * A read near the end of a gate's time still gets this much: a healthy Redis on a busy machine
 * (the provider's fresh process, a TLS handshake) can take over 0.5 s to answer the first PING,
 * and failing it there fails a healthy gate. The gate ends at most this much past its time.
 */
const MIN_READ_BOUND_MS = 2_000;

/** Each read gets the usual bound, or what is left of the gate's own time if that is less. */
function readBound(leftMs: number, signal: AbortSignal | undefined): ReadBound {
  return { timeoutMs: Math.max(MIN_READ_BOUND_MS, Math.min(REDIS_IO_TIMEOUT_MS, leftMs)), signal };
}

function describe(sample: DrainSample, snapshot: SidekiqSnapshot): string {
  const queues = snapshot.queues
    .filter((q) => q.size > 0)
    .map((q) => `${q.name}=${q.size}${q.paused ? " (paused)" : ""}`)
    .join(" ");
  return (
    `pending ${sample.total} (queued ${sample.enqueued}${queues ? `: ${queues}` : ""}, ` +
    `due within the window: ${sample.scheduledDue} scheduled, ${sample.retriesDue} retries), busy ${sample.busy}`
  );
}

/**
 * Sample every interval until the rule passes or the timeout is reached. On timeout (or
 * abort) throws GateError with the last samples, so the step that would stop Sidekiq never
 * runs. The first read failing is fatal (bad URL, wrong password); later failures are
 * reported and restart the window, since a gap proves nothing about the queue.
 */
export async function waitForDrain(
  read: SnapshotReader,
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
  let lastNotes = "";
  let everRead = false;
  // Last heartbeat seen of each process, to say so when one leaves the process list.
  const seen = new Map<string, ProcessBeat>();
  const departures: string[] = [];
  for (;;) {
    const aborted = () =>
      new GateError(
        `${label}: stopped waiting, ${abortReason(options.signal!)} (${lastReason}); Sidekiq left running; ` +
          `the gate removed no job; samples: ${formatSamples(all)}`,
      );
    if (options.signal?.aborted) throw aborted();
    try {
      const snapshot = await read(readBound(deadline - clock.now(), options.signal));
      everRead = true;
      // The loop's clock, not Redis time, dates samples: the window and the deadline share one clock.
      const sample = { ...toSample(snapshot), at: clock.now() };
      samples.push(sample);
      all.push(sample);
      // Keep the window (for "not increasing") and the whole quiet run (for the settle time).
      const keepFrom = Math.min(
        samples.findIndex((s) => s.at >= sample.at - settings.windowSeconds * 1000),
        quietRunStart(samples, settings),
      );
      samples.splice(0, keepFrom);
      for (const [identity, before] of seen) {
        if (sample.processes.some((p) => p.identity === identity)) continue;
        seen.delete(identity);
        if (before.busy > 0) {
          const note =
            `process ${identity} left the process list; its last heartbeat reported ${before.busy} job(s) in flight ` +
            `(if it was killed rather than stopped, those jobs are not in Redis any more and the gate cannot tell whether they finished)`;
          departures.push(note);
          reporter.warn(`${label}: ${note}`);
        }
      }
      for (const p of sample.processes) seen.set(p.identity, p);
      const verdict = evaluateWindow(samples, settings);
      lastReason = verdict.reason;
      lastNotes = silentProcessNotes(sample.processes);
      const left = (deadline - clock.now()) / 1000;
      if (verdict.pass) {
        const departed = departures.length > 0 ? `; note: ${departures.join("; ")}` : "";
        const reason = `${verdict.reason}${departed}`;
        reporter.info(`${label}: passed: ${describe(sample, snapshot)}; ${reason}`);
        if (options.held) reporter.info(heldLine(label, snapshot, options.held));
        return { passed: true, reason, startedAt, finishedAt: clock.now(), samples: all, last: snapshot };
      }
      const paused = sample.pausedWithJobs.length > 0 ? `; paused: ${sample.pausedWithJobs.join(", ")}` : "";
      reporter.info(
        `${label}: ${describe(sample, snapshot)}; waiting for pending <= ${settings.maxSize}, busy <= ${settings.maxBusy}, ` +
          `not increasing (${verdict.reason})${paused}${lastNotes}; ${formatSeconds(left)} left`,
      );
    } catch (error) {
      if (options.signal?.aborted) throw aborted();
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
          `Sidekiq left running; the gate removed no job${paused.length ? `; paused queue(s) holding jobs: ${paused.join(", ")}` : ""}` +
          `${lastNotes}; ` +
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
  read: SnapshotReader,
  seconds: number,
  intervalSeconds: number,
  reporter: ProgressReporter,
  options: WaitOptions = {},
): Promise<DrainSample[]> {
  const clock = options.clock ?? realClock;
  const label = options.label ?? "sidekiq-preflight";
  const start = clock.now();
  const samples: DrainSample[] = [];
  const aborted = () =>
    new GateError(`${label}: stopped sampling, ${abortReason(options.signal!)}; nothing was changed`);
  for (;;) {
    if (options.signal?.aborted) throw aborted();
    let snapshot: SidekiqSnapshot;
    try {
      snapshot = await read(readBound(start + seconds * 1000 - clock.now(), options.signal));
    } catch (error) {
      if (options.signal?.aborted) throw aborted();
      throw error;
    }
    const sample = { ...toSample(snapshot), at: clock.now() };
    samples.push(sample);
    const left = seconds - (clock.now() - start) / 1000;
    if (options.signal?.aborted) throw aborted();
    if (left <= 0) return samples;
    reporter.info(`${label}: ${describe(sample, snapshot)}; sampling, ${formatSeconds(left)} left`);
    await clock.sleep(Math.min(intervalSeconds, left) * 1000, options.signal);
  }
}
