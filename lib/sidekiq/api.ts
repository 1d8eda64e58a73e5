/**
 * Reads Sidekiq's state straight from Redis, key for key as Sidekiq's own data API does
 * (lib/sidekiq/api.rb: Queue, ScheduledSet, RetrySet, DeadSet, ProcessSet), so the gate
 * needs no Ruby and no exec into a container.
 *
 * Keys: `queues` (set of names), `queue:<name>` (list; LPUSH in, BRPOP out, so the oldest
 * job is at index -1), `schedule` / `retry` / `dead` (zsets scored by epoch seconds),
 * `processes` (set of identities), `<identity>` (hash with `info`, `busy`, `beat`; it
 * expires 60 s after the last heartbeat, which is how Sidekiq itself tells a dead process),
 * and `paused` (Sidekiq Pro's set of paused queue names; absent in OSS Sidekiq, where
 * `paused?` is always false). With the redis-namespace gem every key is `<ns>:<key>`.
 */
import type Redis from "ioredis";
import { boundedRedisOptions } from "../boundedRedis";
import { secondsText, withDeadline } from "../deadline";
import { MaintenanceError, isMaintenanceError, oneLine } from "../errors";
import { redactSecrets } from "../redact";
import { redisServerName } from "../serverNames";
import { parseRedisUrl, SLOWEST_HEARTBEAT_SECONDS } from "./config";

export interface QueueInfo {
  name: string;
  size: number;
  /** Seconds since the oldest job was enqueued (0 when empty), as Sidekiq::Queue#latency. */
  latency: number;
  paused: boolean;
}

/**
 * How often a Sidekiq process writes its heartbeat, and with it its busy count: Sidekiq 6
 * (launcher.rb BEAT_PAUSE = 5; its process info has no `version`) every 5 s, Sidekiq 7 and 8
 * (which put `version` in the info) every 10 s. A version this code does not know is taken
 * as the slowest known, so the gate errs towards waiting.
 */
export function heartbeatSeconds(version: string | undefined): number {
  if (version === undefined) return 5;
  const major = Number(/^(\d+)\./.exec(version)?.[1]);
  return Number.isFinite(major) && major <= 6 ? 5 : SLOWEST_HEARTBEAT_SECONDS;
}

/** One live Sidekiq process as its heartbeat hash shows it. */
export interface ProcessBeat {
  identity: string;
  /** Sidekiq::VERSION from the process info (7+); undefined for Sidekiq 6 and older. */
  version?: string;
  /** Jobs in flight at its last heartbeat. */
  busy: number;
  /** Its last heartbeat, epoch seconds by the Sidekiq host's clock. */
  beat: number;
  /** Seconds from `beat` to the Redis server time of the read (hosts' clocks may differ). */
  ageSeconds: number;
  heartbeatSeconds: number;
}

export interface SidekiqSnapshot {
  /** Redis server time of the read, ms since the epoch: one clock for latencies and due times. */
  at: number;
  queues: QueueInfo[];
  /** Jobs in all queues. */
  enqueued: number;
  scheduled: number;
  retries: number;
  dead: number;
  /** Scheduled jobs due within the look-ahead (they will be enqueued by then). */
  scheduledDue: number;
  /** Retries due within the look-ahead. */
  retriesDue: number;
  /** When the earliest scheduled job is due, ms since the epoch; undefined when none is scheduled. */
  nextScheduledAt?: number;
  /** When the earliest retry is due, ms since the epoch; undefined when there is no retry. */
  nextRetryAt?: number;
  /** Jobs in flight, summed over live processes as Sidekiq::WorkSet#size does. */
  busy: number;
  /** Live Sidekiq processes (heartbeat hash still present). */
  processes: number;
  /** The live processes, by identity. */
  processList: ProcessBeat[];
}

export interface RedisTarget {
  url: string;
  /** redis-namespace prefix, without the trailing ':'. */
  namespace?: string;
}

/** How long one read of Redis (connecting included) may take unless the caller bounds it tighter. */
export const REDIS_IO_TIMEOUT_MS = 5_000;

/** The bound of one read: its time, and a signal that ends it early (a cancelled update). */
export interface ReadBound {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Sidekiq 7 stores `enqueued_at`/`created_at` as float epoch seconds, Sidekiq 8 as integer
 * epoch milliseconds. JSON loses the float/integer distinction Ruby uses, so tell them by
 * size: 1e11 seconds is the year 5138, 1e11 ms is 1973.
 */
export function jobTimestampSeconds(value: unknown): number | undefined {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) return undefined;
  return value >= 1e11 ? value / 1000 : value;
}

/** Age in seconds of the job JSON at the tail of a queue list, as Sidekiq::Queue#latency. */
export function jobLatencySeconds(entry: string | null, nowSeconds: number): number {
  if (!entry) return 0;
  let job: Record<string, unknown>;
  try {
    job = JSON.parse(entry) as Record<string, unknown>;
  } catch {
    return 0;
  }
  const at = jobTimestampSeconds(job?.enqueued_at) ?? jobTimestampSeconds(job?.created_at);
  return at === undefined ? 0 : Math.max(0, nowSeconds - at);
}

/** What the drain gate counts: queued jobs plus those the scheduler will enqueue within the window. */
export function pendingTotal(s: Pick<SidekiqSnapshot, "enqueued" | "scheduledDue" | "retriesDue">): number {
  return s.enqueued + s.scheduledDue + s.retriesDue;
}

/** Sidekiq's key names under a redis-namespace prefix (`<ns>:<key>`), or as they are without one. */
export function keyer(namespace?: string): (key: string) => string {
  return namespace ? (key) => `${namespace}:${key}` : (key) => key;
}

type PipelineResult = Array<[Error | null, unknown]>;

function results(raw: PipelineResult | null): unknown[] {
  if (!raw) throw new Error("Redis closed the connection");
  return raw.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}

/**
 * Turn a driver error into one line naming the server by address (never by its URL, which
 * the engine would print as `[secret]`) and never its password.
 */
export function describeRedisError(
  error: unknown,
  url: string,
  timeoutMs = REDIS_IO_TIMEOUT_MS,
): MaintenanceError {
  if (isMaintenanceError(error)) return error;
  let password: string | undefined;
  try {
    password = decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    password = undefined;
  }
  let text = oneLine(error);
  if (/NOAUTH/.test(text) && !password) {
    text = "this Redis requires a password; the URL has none";
  } else if (/WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(text)) {
    text = "authentication failed (wrong user or password in the URL)";
  } else if (/ECONNREFUSED/.test(text)) {
    text = "connection refused";
  } else if (/ENOTFOUND|EAI_AGAIN/.test(text)) {
    text = "host name does not resolve";
  } else if (/Command timed out/i.test(text)) {
    text = `accepted the connection but did not answer within ${secondsText(timeoutMs)}`;
  } else if (/ETIMEDOUT|timed? ?out/i.test(text)) {
    text = `did not accept a connection within ${secondsText(timeoutMs)}`;
  }
  return new MaintenanceError(`${redisServerName(url)}: ${redactSecrets(text, [password])}`);
}

/**
 * Connect with no retries and no offline queue, so a bad target fails once, quickly; every
 * command is bounded (`commandTimeout`), and so is the whole connect-and-PING, so a server
 * that accepts the connection and never answers fails within `timeoutMs` too.
 */
export async function connectRedis(target: RedisTarget, bound: ReadBound = {}): Promise<Redis> {
  parseRedisUrl(target.url, "Redis URL");
  const timeoutMs = bound.timeoutMs ?? REDIS_IO_TIMEOUT_MS;
  const IORedis = require("ioredis") as typeof import("ioredis").default;
  const client = new IORedis(target.url, boundedRedisOptions(timeoutMs));
  let lastError: unknown;
  client.on("error", (error: unknown) => {
    lastError = error;
  });
  const connecting = (async () => {
    await client.connect();
    // AUTH failures surface on the first command, not always on connect.
    await client.ping();
  })();
  try {
    await withDeadline(connecting, timeoutMs, {
      signal: bound.signal,
      stop: () => client.disconnect(),
      onTimeout: () =>
        new MaintenanceError(
          `${redisServerName(target.url)}: ` +
            (client.status === "connecting" || client.status === "wait"
              ? `did not accept a connection within ${secondsText(timeoutMs)}`
              : `accepted the connection but did not answer within ${secondsText(timeoutMs)}`),
        ),
    });
  } catch (error) {
    client.disconnect();
    throw isMaintenanceError(error) ? error : describeRedisError(lastError ?? error, target.url, timeoutMs);
  }
  return client;
}

/** The score of `ZRANGE key 0 0 WITHSCORES` (epoch seconds) as ms since the epoch. */
function firstDueAt(reply: string[]): number | undefined {
  return reply.length === 2 ? Math.round(Number(reply[1]) * 1000) : undefined;
}

/** One consistent-enough read of everything the gate and the `queue` report need. */
export async function readSnapshotWith(
  client: Redis,
  namespace: string | undefined,
  lookAheadSeconds: number,
): Promise<SidekiqSnapshot> {
  const k = keyer(namespace);
  const [time, queueNames, pausedNames, scheduled, retries, dead, identities] = results(
    (await client
      .pipeline()
      .time()
      .smembers(k("queues"))
      .smembers(k("paused"))
      .zcard(k("schedule"))
      .zcard(k("retry"))
      .zcard(k("dead"))
      .smembers(k("processes"))
      .exec()) as PipelineResult,
  ) as [[string, string], string[], string[], number, number, number, string[]];

  const nowSeconds = Number(time[0]) + Number(time[1]) / 1e6;
  const dueBy = String(nowSeconds + lookAheadSeconds);
  const names = [...queueNames].sort();
  const pipe = client.pipeline();
  for (const name of names) pipe.llen(k(`queue:${name}`)).lindex(k(`queue:${name}`), -1);
  pipe.zcount(k("schedule"), "-inf", dueBy).zcount(k("retry"), "-inf", dueBy);
  for (const identity of identities) pipe.hmget(k(identity), "info", "busy", "beat");
  pipe.zrange(k("schedule"), 0, 0, "WITHSCORES").zrange(k("retry"), 0, 0, "WITHSCORES");
  const rest = results((await pipe.exec()) as PipelineResult);
  const [firstScheduled, firstRetry] = rest.slice(-2) as [string[], string[]];

  const paused = new Set(pausedNames);
  const queues: QueueInfo[] = names.map((name, i) => ({
    name,
    size: Number(rest[2 * i]),
    latency: Math.round(jobLatencySeconds(rest[2 * i + 1] as string | null, nowSeconds) * 100) / 100,
    paused: paused.has(name),
  }));
  const base = 2 * names.length;
  const processList: ProcessBeat[] = [];
  identities.forEach((identity, i) => {
    const [info, busyField, beatField] = rest[base + 2 + i] as [string | null, string | null, string | null];
    // A process whose heartbeat hash has expired is dead; Sidekiq::ProcessSet skips it too.
    if (info === null) return;
    let version: string | undefined;
    try {
      const parsed = JSON.parse(info) as { version?: unknown };
      if (typeof parsed?.version === "string") version = parsed.version;
    } catch {
      version = "unknown";
    }
    const beat = Number(beatField) || 0;
    processList.push({
      identity,
      version,
      busy: Number(busyField) || 0,
      beat,
      ageSeconds: Math.round((nowSeconds - beat) * 10) / 10,
      heartbeatSeconds: heartbeatSeconds(version),
    });
  });
  processList.sort((a, b) => a.identity.localeCompare(b.identity));
  const busy = processList.reduce((sum, p) => sum + p.busy, 0);
  return {
    at: Math.round(nowSeconds * 1000),
    queues,
    enqueued: queues.reduce((sum, q) => sum + q.size, 0),
    scheduled,
    retries,
    dead,
    scheduledDue: Number(rest[base]),
    retriesDue: Number(rest[base + 1]),
    nextScheduledAt: firstDueAt(firstScheduled),
    nextRetryAt: firstDueAt(firstRetry),
    busy,
    processes: processList.length,
    processList,
  };
}

/**
 * Connect, read one snapshot, disconnect, all within `bound` (default REDIS_IO_TIMEOUT_MS).
 * Errors are one line naming the server, without the password.
 */
export async function readSnapshot(
  target: RedisTarget,
  lookAheadSeconds: number,
  bound: ReadBound = {},
): Promise<SidekiqSnapshot> {
  const timeoutMs = bound.timeoutMs ?? REDIS_IO_TIMEOUT_MS;
  const startedAt = Date.now();
  const client = await connectRedis(target, bound);
  try {
    // What the connection left of the bound; each command is bounded by commandTimeout as well.
    const left = Math.max(1, timeoutMs - (Date.now() - startedAt));
    return await withDeadline(readSnapshotWith(client, target.namespace, lookAheadSeconds), left, {
      signal: bound.signal,
      stop: () => client.disconnect(),
      onTimeout: () =>
        new MaintenanceError(
          `${redisServerName(target.url)}: did not answer within ${secondsText(timeoutMs)}`,
        ),
    });
  } catch (error) {
    throw describeRedisError(error, target.url, timeoutMs);
  } finally {
    client.disconnect();
  }
}
