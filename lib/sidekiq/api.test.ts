import Redis from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisDatabasePerFile } from "../../testkit/testScope";
import { startBlackHole, type BlackHole } from "../../testkit/blackHole";
import { freePort, startRedis, TEST_REDIS_USER_PASSWORD } from "../../testkit/servers/localServers";
import { MaintenanceError } from "../errors";
import { jobLatencySeconds, jobTimestampSeconds, readSnapshot } from "./api";
import { enqueue, heartbeat, jobJson, pauseQueue, scheduleJob } from "../../testkit/sidekiqJobs";

const { url, redis } = redisDatabasePerFile(3);

describe("jobTimestampSeconds", () => {
  it("reads Sidekiq 7 float seconds and Sidekiq 8 integer milliseconds as the same instant", () => {
    expect(jobTimestampSeconds(1_700_000_000.25)).toBe(1_700_000_000.25);
    expect(jobTimestampSeconds(1_700_000_000_250)).toBe(1_700_000_000.25);
    expect(jobTimestampSeconds(1_700_000_000)).toBe(1_700_000_000);
    expect(jobTimestampSeconds("1700000000")).toBeUndefined();
    expect(jobTimestampSeconds(null)).toBeUndefined();
  });

  it("ages the tail job like Sidekiq::Queue#latency, falling back to created_at", () => {
    const now = 1_700_000_100;
    expect(jobLatencySeconds(JSON.stringify({ enqueued_at: 1_700_000_040.5 }), now)).toBeCloseTo(59.5);
    expect(jobLatencySeconds(JSON.stringify({ created_at: 1_700_000_040_000 }), now)).toBeCloseTo(60);
    expect(jobLatencySeconds(null, now)).toBe(0);
    expect(jobLatencySeconds("not json", now)).toBe(0);
    expect(jobLatencySeconds(JSON.stringify({ class: "X" }), now)).toBe(0);
  });
});

describe("readSnapshot against redis-server", () => {
  it("is all zeros for an empty Redis", async () => {
    const s = await readSnapshot({ url }, 120);
    expect(s).toMatchObject({
      queues: [],
      enqueued: 0,
      scheduled: 0,
      retries: 0,
      dead: 0,
      busy: 0,
      processes: 0,
    });
    expect(Math.abs(s.at - Date.now())).toBeLessThan(5000);
  });

  it("reports size, latency and paused per queue for both job formats", async () => {
    const now = Date.now();
    await enqueue(redis, "default", 3, { format: "sidekiq7", enqueuedAtMs: now - 42_000 });
    await enqueue(redis, "default", 2, { format: "sidekiq7", enqueuedAtMs: now - 1_000 });
    await enqueue(redis, "mailers", 4, { format: "sidekiq8", enqueuedAtMs: now - 90_000 });
    await redis.sadd("queues", "empty");
    await pauseQueue(redis, "mailers");
    const s = await readSnapshot({ url }, 120);
    expect(s.queues.map((q) => [q.name, q.size, q.paused])).toEqual([
      ["default", 5, false],
      ["empty", 0, false],
      ["mailers", 4, true],
    ]);
    expect(s.queues[0].latency).toBeGreaterThanOrEqual(41.5);
    expect(s.queues[0].latency).toBeLessThan(45);
    expect(s.queues[2].latency).toBeGreaterThanOrEqual(89.5);
    expect(s.queues[2].latency).toBeLessThan(93);
    expect(s.queues[1].latency).toBe(0);
    expect(s.enqueued).toBe(9);
  });

  it("sums busy over live processes and skips processes whose heartbeat expired", async () => {
    await heartbeat(redis, "host-a:1:abc", 3);
    await heartbeat(redis, "host-b:1:def", 2);
    // Died without a clean shutdown: still in `processes`, but its hash has expired.
    await redis.sadd("processes", "host-c:1:dead");
    const s = await readSnapshot({ url }, 120);
    expect(s.busy).toBe(5);
    expect(s.processes).toBe(2);
  });

  it("reads under a redis-namespace prefix and ignores unprefixed keys", async () => {
    await enqueue(redis, "default", 7, { namespace: "tines" });
    await heartbeat(redis, "host-a:1:abc", 1, { namespace: "tines" });
    await scheduleJob(redis, "retry", Date.now() / 1000, "tines");
    await enqueue(redis, "default", 100);
    const s = await readSnapshot({ url, namespace: "tines" }, 120);
    expect(s.queues).toEqual([expect.objectContaining({ name: "default", size: 7 })]);
    expect(s).toMatchObject({ busy: 1, processes: 1, retriesDue: 1 });
    const plain = await readSnapshot({ url }, 120);
    expect(plain.enqueued).toBe(100);
  });

  it("authenticates as an ACL user and names a wrong password in one line without revealing it", async () => {
    await enqueue(redis, "default", 1);
    const port = new URL(url).port;
    const good = await readSnapshot(
      { url: `redis://tines:${TEST_REDIS_USER_PASSWORD}@127.0.0.1:${port}/3` },
      120,
    );
    expect(good.enqueued).toBe(1);
    const error = await readSnapshot({ url: `redis://tines:not-the-pw-123@127.0.0.1:${port}/3` }, 120).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(MaintenanceError);
    expect(error.message).toMatch(/authentication failed/);
    expect(error.message).not.toContain("not-the-pw-123");
    expect(error.message).not.toContain("\n");
  });

  it("fails fast with one line when Redis is unreachable or the URL is bad", async () => {
    const port = await freePort();
    const started = Date.now();
    const refused = await readSnapshot({ url: `redis://:s3cret-pw@127.0.0.1:${port}/0` }, 120).catch(
      (e) => e,
    );
    expect(Date.now() - started).toBeLessThan(3000);
    expect(refused).toBeInstanceOf(MaintenanceError);
    // The address, never the URL: the engine prints a secret config value as [secret].
    expect(refused.message).toBe(`Redis 127.0.0.1:${port} db 0: connection refused`);
    const bad = await readSnapshot({ url: "http://127.0.0.1:6379" }, 120).catch((e) => e);
    expect(bad.message).toMatch(/must be a redis:\/\/ or rediss:\/\/ URL/);
  });

  it("says that a Redis requiring a password got none (NOAUTH), naming the server", async () => {
    const server = await startRedis();
    const admin = new Redis(server.url);
    try {
      await admin.config("SET", "requirepass", "needed-pw-123");
      const port = new URL(server.url).port;
      const error = await readSnapshot({ url: `redis://127.0.0.1:${port}/2` }, 120).catch((e) => e);
      expect(error).toBeInstanceOf(MaintenanceError);
      expect(error.message).toBe(
        `Redis 127.0.0.1:${port} db 2: this Redis requires a password; the URL has none`,
      );
    } finally {
      admin.disconnect();
      await server.stop();
    }
  });

  describe("a Redis that accepts the connection and never answers (issue 20, item 2)", () => {
    let hole: BlackHole;
    beforeAll(async () => {
      hole = await startBlackHole();
    });
    afterAll(() => hole.close());

    it("fails within its bound (5 s by default), naming Redis and its address", async () => {
      const started = Date.now();
      const error = await readSnapshot({ url: `redis://127.0.0.1:${hole.port}/0` }, 120).catch((e) => e);
      const seconds = (Date.now() - started) / 1000;
      expect(error).toBeInstanceOf(MaintenanceError);
      expect(error.message).toBe(
        `Redis 127.0.0.1:${hole.port} db 0: accepted the connection but did not answer within 5s`,
      );
      expect(seconds).toBeGreaterThan(4.5);
      expect(seconds).toBeLessThan(6.5);
      expect(hole.accepted()).toBeGreaterThan(0);
    });

    it("fails within a tighter bound, and at once when its signal aborts", async () => {
      let started = Date.now();
      const bounded = await readSnapshot({ url: `redis://127.0.0.1:${hole.port}/0` }, 120, {
        timeoutMs: 800,
      }).catch((e) => e);
      expect(bounded.message).toMatch(/did not answer within 0\.8s$/);
      expect(Date.now() - started).toBeLessThan(2000);

      const controller = new AbortController();
      started = Date.now();
      setTimeout(() => controller.abort("the update was cancelled (Ctrl-C)"), 300);
      const aborted = await readSnapshot({ url: `redis://127.0.0.1:${hole.port}/0` }, 120, {
        signal: controller.signal,
      }).catch((e) => e);
      expect(aborted.message).toBe("the update was cancelled (Ctrl-C)");
      expect(Date.now() - started).toBeLessThan(1500);
    });
  });

  it("builds job payloads in each format that Sidekiq's latency reads back", () => {
    const at = 1_700_000_000_500;
    expect(JSON.parse(jobJson("q", at, "sidekiq7")).enqueued_at).toBe(1_700_000_000.5);
    expect(JSON.parse(jobJson("q", at, "sidekiq8")).enqueued_at).toBe(at);
  });
});
