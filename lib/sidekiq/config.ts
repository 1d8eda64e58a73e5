/**
 * `sidekiq.*` stack config: where Sidekiq keeps its queues and how the drain gate and the
 * shutdown pre-flight judge them. Defaults are for production (README, "Sidekiq gate").
 */
import { z } from "zod";
import { SECRET_PLACEHOLDER } from "../config/core";
import { ConfigError } from "../errors";
import { oneOf, wholeNumber } from "../config/validation";

export const PREFLIGHT_MODES = ["warn", "refuse", "off"] as const;
export type PreflightMode = (typeof PREFLIGHT_MODES)[number];

/**
 * What a shutdown that moves `REDIS_URL` to another Redis does with Sidekiq's scheduled jobs,
 * retries, dead jobs and queues, which no drain empties: `carry` copies them to the new Redis
 * (lib/sidekiq/carry.ts), `discard` leaves them in the old one and records how many.
 */
export const REDIS_SWITCH_MODES = ["carry", "discard"] as const;
export type RedisSwitchMode = (typeof REDIS_SWITCH_MODES)[number];

/**
 * Sidekiq 7 and 8 write a process heartbeat every 10 s (Sidekiq 6 every 5 s); see
 * heartbeatSeconds in api.ts, which reads the version from the process info.
 */
export const SLOWEST_HEARTBEAT_SECONDS = 10;
/**
 * Slack on top of the heartbeat period: a heartbeat takes a few Redis round trips and its
 * thread shares Ruby's GVL with the jobs, so consecutive busy counts can be a little more
 * than one period apart.
 */
export const HEARTBEAT_MARGIN_SECONDS = 2;

/** The quiet time the gate needs before it passes, given the slowest heartbeat it has seen. */
export function settleNeeded(settleSeconds: number, heartbeat: number | undefined): number {
  return heartbeat === undefined
    ? settleSeconds
    : Math.max(settleSeconds, heartbeat + HEARTBEAT_MARGIN_SECONDS);
}

/**
 * Production defaults. Sidekiq writes a process heartbeat (and with it the busy count)
 * every 10 s, so a gate that settles for less than that could miss a job that was fetched
 * just before the queue looked empty: settle 15 s at a 5 s interval covers one heartbeat.
 * The window is the seed's minimum sampling window (2 min): it is how far back "not
 * increasing" looks and how far ahead scheduled jobs and retries count as due.
 */
export const SIDEKIQ_DEFAULTS = {
  intervalSeconds: 5,
  windowSeconds: 120,
  settleSeconds: 15,
  maxSize: 0,
  maxBusy: 0,
  timeoutSeconds: 900,
  preflight: "warn" as PreflightMode,
  preflightSeconds: 10,
  onRedisSwitch: "carry" as RedisSwitchMode,
};

const REDIS_SCHEMES = ["redis:", "rediss:"];

/** What is wrong with a redis:// or rediss:// URL as Sidekiq's REDIS_URL takes it, if anything. */
export function sidekiqRedisUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "must be a redis:// or rediss:// URL (e.g. redis://host:6379/1)";
  }
  if (!REDIS_SCHEMES.includes(url.protocol)) {
    return `must be a redis:// or rediss:// URL, got scheme "${url.protocol.replace(":", "")}"`;
  }
  if (!url.hostname) return "must name a host (redis://host:6379/1)";
  const db = url.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d+$/.test(db))
    return `path must be a database number (redis://host:6379/1), got "/${db}"`;
  return undefined;
}

/** The URL, or a ConfigError naming `what` (the flag or key) and the rule. */
export function parseRedisUrl(value: string, what: string): URL {
  const problem = sidekiqRedisUrlProblem(value);
  if (problem) throw new ConfigError(`${what} ${problem}`);
  return new URL(value);
}

const whole = (min: number) => wholeNumber(min);

/**
 * The redis-namespace gem's prefix (keys become `<ns>:queue:default`). A plain function,
 * not a zod schema, because dynamic providers call it and zod's bound methods cannot be
 * serialized into a provider.
 */
export function isValidNamespace(value: unknown): value is string {
  return typeof value === "string" && /^[^\s:]\S*$/.test(value);
}

export const NAMESPACE_RULE = "must be a non-empty prefix without spaces, not starting with ':'";

export const namespaceSchema = z
  .string({ error: "must be a string" })
  .refine(isValidNamespace, { error: NAMESPACE_RULE });

export const sidekiqConfigSchema = z
  .strictObject({
    redisUrl: z
      .string({ error: "required; a redis:// or rediss:// URL (set it with --secret)" })
      .superRefine((value, ctx) => {
        const problem = value === SECRET_PLACEHOLDER ? undefined : sidekiqRedisUrlProblem(value);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      }),
    namespace: namespaceSchema.optional(),
    intervalSeconds: whole(1).default(SIDEKIQ_DEFAULTS.intervalSeconds),
    windowSeconds: whole(1).default(SIDEKIQ_DEFAULTS.windowSeconds),
    settleSeconds: whole(0).default(SIDEKIQ_DEFAULTS.settleSeconds),
    maxSize: whole(0).default(SIDEKIQ_DEFAULTS.maxSize),
    maxBusy: whole(0).default(SIDEKIQ_DEFAULTS.maxBusy),
    timeoutSeconds: whole(10).default(SIDEKIQ_DEFAULTS.timeoutSeconds),
    preflight: oneOf(PREFLIGHT_MODES).default(SIDEKIQ_DEFAULTS.preflight),
    preflightSeconds: whole(0).default(SIDEKIQ_DEFAULTS.preflightSeconds),
    onRedisSwitch: oneOf(REDIS_SWITCH_MODES).default(SIDEKIQ_DEFAULTS.onRedisSwitch),
  })
  .superRefine((raw, ctx) => {
    for (const issue of drainSettingsIssues(raw)) ctx.addIssue({ code: "custom", ...issue });
  });

export type SidekiqConfig = z.infer<typeof sidekiqConfigSchema>;

/** Settings of one drain wait (shared by the program, the provider and `drain-wait`). */
export interface DrainSettings {
  intervalSeconds: number;
  windowSeconds: number;
  settleSeconds: number;
  maxSize: number;
  maxBusy: number;
  timeoutSeconds: number;
}

/** Relations between settings that each key cannot check alone. */
export function drainSettingsIssues(s: DrainSettings): Array<{ path: string[]; message: string }> {
  const issues: Array<{ path: string[]; message: string }> = [];
  if (s.settleSeconds > s.windowSeconds) {
    issues.push({
      path: ["settleSeconds"],
      message: `must be <= windowSeconds (${s.windowSeconds}); the settled run must fit in the window`,
    });
  }
  if (s.intervalSeconds > s.timeoutSeconds) {
    issues.push({ path: ["intervalSeconds"], message: `must be <= timeoutSeconds (${s.timeoutSeconds})` });
    return issues;
  }
  // The gate settles for at least one heartbeat of the slowest Sidekiq it may meet, and a
  // sample lands up to an interval after the settle time is reached: a shorter timeout
  // could never pass against such a Sidekiq even with every queue empty.
  const settle = settleNeeded(s.settleSeconds, SLOWEST_HEARTBEAT_SECONDS);
  const needed = settle + 2 * s.intervalSeconds;
  if (s.timeoutSeconds < needed) {
    issues.push({
      path: ["timeoutSeconds"],
      message:
        `must be >= ${needed} (a settle of ${settle}s, which covers a Sidekiq 7/8 heartbeat, ` +
        `plus two intervals of ${s.intervalSeconds}s), or the gate could never pass`,
    });
  }
  return issues;
}
