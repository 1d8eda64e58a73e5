/**
 * The jobs a drain does not empty, said in one sentence: Sidekiq's scheduled set (jobs due
 * later, Tines' Delay action holds events there for up to 7 days), its retry set (backoff
 * for about 3 weeks) and its dead set, plus any jobs still queued. The drain gate, the
 * pre-flight, `maint queue`, the carry and the report all say it the same way, e.g.
 *
 *   2 scheduled for later (next due in 1h59m), 1 retry (next attempt in 3h00m), 1 dead:
 *   carried to the new Redis at the switch
 */
import type { SidekiqSnapshot } from "./api";

/** What a Redis holds that outlives a drain. Times are ms since the epoch. */
export interface HeldJobs {
  /** Jobs waiting in queues (a drain gate with maxSize > 0 may pass with some). */
  queued: number;
  scheduled: number;
  nextScheduledAt?: number;
  retries: number;
  nextRetryAt?: number;
  dead: number;
}

/**
 * What becomes of them:
 *  - `carry` / `carried`: a shutdown that moves REDIS_URL copies them (before / after the copy);
 *  - `discard` / `discarded`: sidekiq.onRedisSwitch is discard, they stay in the old Redis;
 *  - `stay`: no Redis move in this shutdown;
 *  - `none`: no verdict (`maint queue`, which knows of no window).
 */
export type HeldDisposition = "carry" | "carried" | "discard" | "discarded" | "stay" | "none";

const DISPOSITION_TEXT: Record<HeldDisposition, string> = {
  carry: "carried to the new Redis at the switch",
  carried: "carried to the new Redis",
  discard: "left behind in the old Redis at the switch (sidekiq.onRedisSwitch: discard)",
  discarded: "left behind in the old Redis (sidekiq.onRedisSwitch: discard)",
  stay: "stay in this Redis",
  none: "",
};

/** Held jobs as stack outputs keep them: due times as ISO strings, and the sentence. */
export interface HeldRecord {
  queued: number;
  scheduled: number;
  nextScheduledAt?: string;
  retries: number;
  nextRetryAt?: string;
  dead: number;
}

export function heldRecord(h: HeldJobs): HeldRecord {
  return {
    queued: h.queued,
    scheduled: h.scheduled,
    retries: h.retries,
    dead: h.dead,
    ...(h.nextScheduledAt !== undefined
      ? { nextScheduledAt: new Date(h.nextScheduledAt).toISOString() }
      : {}),
    ...(h.nextRetryAt !== undefined ? { nextRetryAt: new Date(h.nextRetryAt).toISOString() } : {}),
  };
}

export function heldFromSnapshot(s: SidekiqSnapshot): HeldJobs {
  return {
    queued: s.enqueued,
    scheduled: s.scheduled,
    nextScheduledAt: s.nextScheduledAt,
    retries: s.retries,
    nextRetryAt: s.nextRetryAt,
    dead: s.dead,
  };
}

export function heldTotal(h: HeldJobs): number {
  return h.queued + h.scheduled + h.retries + h.dead;
}

/** `42s`, `12m05s`, `1h59m`, `6d23h`: two units at most, as an operator reads a due time. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86_400)}d${String(Math.floor((s % 86_400) / 3600)).padStart(2, "0")}h`;
}

/** `in 1h59m`, or `5m00s ago` for a job whose time came while no Sidekiq was running. */
function dueText(at: number | undefined, now: number): string {
  if (at === undefined) return "";
  const seconds = (at - now) / 1000;
  return seconds >= 0 ? `in ${formatDuration(seconds)}` : `${formatDuration(-seconds)} ago`;
}

/** The counts without a verdict: `2 scheduled for later (next due in 1h59m), 1 retry, 1 dead`. */
export function heldJobsText(h: HeldJobs, now: number): string {
  if (heldTotal(h) === 0) return "no scheduled, retrying or dead jobs";
  const parts: string[] = [];
  if (h.queued > 0) parts.push(`${h.queued} queued`);
  const nextDue = dueText(h.nextScheduledAt, now);
  parts.push(
    h.scheduled === 0
      ? "none scheduled"
      : `${h.scheduled} scheduled for later${nextDue ? ` (next due ${nextDue})` : ""}`,
  );
  const nextRetry = dueText(h.nextRetryAt, now);
  parts.push(
    h.retries === 0
      ? "no retries"
      : `${h.retries} ${h.retries === 1 ? "retry" : "retries"}${nextRetry ? ` (next attempt ${nextRetry})` : ""}`,
  );
  parts.push(h.dead === 0 ? "no dead jobs" : `${h.dead} dead`);
  return parts.join(", ");
}

/** The whole sentence: the counts, then what becomes of them. */
export function heldJobsSentence(h: HeldJobs, disposition: HeldDisposition, now: number): string {
  const text = heldJobsText(h, now);
  if (disposition === "none") return text;
  if (heldTotal(h) === 0) {
    return disposition === "carry" || disposition === "carried" ? `${text}: nothing to carry` : text;
  }
  return `${text}: ${DISPOSITION_TEXT[disposition]}`;
}
