/**
 * Writes Sidekiq-shaped data into a real Redis the way Sidekiq's client and launcher do,
 * for tests and the benchmark. Not used by the program.
 */
import type Redis from "ioredis";
import { randomBytes } from "node:crypto";
import type { DrainGateInputs } from "../lib/sidekiq/gate";

export type JobFormat = "sidekiq7" | "sidekiq8";

/** A job payload as Sidekiq::Client#push stores it (7: float seconds, 8: integer ms). */
export function jobJson(queue: string, enqueuedAtMs: number, format: JobFormat): string {
  const stamp = format === "sidekiq7" ? enqueuedAtMs / 1000 : Math.round(enqueuedAtMs);
  return JSON.stringify({
    class: "HardWorker",
    args: [1, "x"],
    retry: true,
    queue,
    jid: randomBytes(12).toString("hex"),
    created_at: stamp,
    enqueued_at: stamp,
  });
}

export function prefixer(namespace?: string): (key: string) => string {
  return namespace ? (key) => `${namespace}:${key}` : (key) => key;
}

/** Sidekiq::Client#push: register the queue and LPUSH the jobs (oldest first in `ages`). */
export async function enqueue(
  redis: Redis,
  queue: string,
  count: number,
  opts: { namespace?: string; format?: JobFormat; enqueuedAtMs?: number } = {},
): Promise<void> {
  if (count <= 0) return;
  const k = prefixer(opts.namespace);
  const at = opts.enqueuedAtMs ?? Date.now();
  const jobs = Array.from({ length: count }, () => jobJson(queue, at, opts.format ?? "sidekiq8"));
  await redis
    .multi()
    .sadd(k("queues"), queue)
    .lpush(k(`queue:${queue}`), ...jobs)
    .exec();
}

/** A Sidekiq fetcher: BRPOP-style removal of `count` jobs from the tail. */
export async function consume(
  redis: Redis,
  queue: string,
  count: number,
  namespace?: string,
): Promise<number> {
  const k = prefixer(namespace);
  let taken = 0;
  for (let i = 0; i < count; i++) {
    if ((await redis.rpop(k(`queue:${queue}`))) === null) break;
    taken += 1;
  }
  return taken;
}

/** Add a job to `schedule` or `retry`, scored by epoch seconds as Sidekiq does. */
export async function scheduleJob(
  redis: Redis,
  set: "schedule" | "retry" | "dead",
  atSeconds: number,
  namespace?: string,
): Promise<void> {
  await redis.zadd(prefixer(namespace)(set), String(atSeconds), jobJson("default", Date.now(), "sidekiq8"));
}

/** Sidekiq::Launcher#heartbeat: the `processes` set and the identity hash with its 60 s expiry. */
export async function heartbeat(
  redis: Redis,
  identity: string,
  busy: number,
  opts: { namespace?: string; queues?: string[]; ttlSeconds?: number } = {},
): Promise<void> {
  const k = prefixer(opts.namespace);
  const info = JSON.stringify({
    hostname: "test-host",
    pid: 1,
    tag: "tines",
    concurrency: 10,
    queues: opts.queues ?? ["default"],
    identity,
    version: "8.0.0",
  });
  await redis
    .multi()
    .sadd(k("processes"), identity)
    .hset(
      k(identity),
      "info",
      info,
      "busy",
      String(busy),
      "beat",
      String(Date.now() / 1000),
      "quiet",
      "false",
    )
    .expire(k(identity), opts.ttlSeconds ?? 60)
    .exec();
}

/** Sidekiq Pro's pause: the queue name in the `paused` set. */
export async function pauseQueue(redis: Redis, queue: string, namespace?: string): Promise<void> {
  await redis.sadd(prefixer(namespace)("paused"), queue);
}

/** A fresh Redis database index per test file keeps parallel test files apart. */
export function urlWithDb(url: string, db: number): string {
  const parsed = new URL(url);
  parsed.pathname = `/${db}`;
  return parsed.toString();
}

/** The drain gate's inputs at test speed (a sample every 0.1 s), for `redisUrl`, timing out after `timeoutSeconds`. */
export function quickDrainInputs(redisUrl: string, timeoutSeconds: number): DrainGateInputs {
  return {
    redisUrl,
    namespace: "",
    trigger: "",
    intervalSeconds: 0.1,
    windowSeconds: 30,
    settleSeconds: 0.3,
    maxSize: 0,
    maxBusy: 0,
    timeoutSeconds,
  };
}
