import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RunningServer } from "../../testkit/servers/localServers";
import { startSidekiq, type SidekiqServer } from "../../testkit/servers/sidekiq";
import { startTinesHealthServer, type TinesHealthServer } from "../../testkit/servers/tinesHealth";
import { isMaintenanceError } from "../errors";
import type { Clock } from "../progress";
import {
  interpretHealthAnswer,
  probeTinesHealth,
  waitForTinesHealth,
  type HealthAnswer,
} from "./tinesHealth";
import { recordingReporter } from "../../testkit/recordingReporter";

function fakeClock(): Clock {
  let now = Date.parse("2026-11-01T03:00:00Z");
  return { now: () => now, sleep: async (ms) => void (now += ms) };
}

describe("reading Tines' answer", () => {
  it("takes /is_up's status code and /health's healthy field", () => {
    expect(interpretHealthAnswer(200, "ok")).toEqual({ healthy: true, status: "HTTP 200" });
    expect(interpretHealthAnswer(500, "not ready").healthy).toBe(false);
    expect(interpretHealthAnswer(200, '{"healthy":false,"postgres":true,"sidekiq":false}')).toEqual({
      healthy: false,
      status: "HTTP 200 healthy: false (sidekiq: false)",
    });
    expect(interpretHealthAnswer(200, '{"healthy":true}').healthy).toBe(true);
    expect(interpretHealthAnswer(503, '{"healthy":true}').healthy).toBe(false);
  });

  it("reports the answer and the time left while it waits, then passes", async () => {
    const answers: HealthAnswer[] = [
      { healthy: false, status: "connect ECONNREFUSED 127.0.0.1:3000" },
      { healthy: false, status: "HTTP 500" },
      { healthy: true, status: "HTTP 200" },
    ];
    const reporter = recordingReporter();
    const result = await waitForTinesHealth(
      { url: "http://u:hunter2@tines.internal/is_up", timeoutSeconds: 60, intervalSeconds: 5 },
      reporter,
      fakeClock(),
      async () => answers.shift()!,
    );
    expect(result).toMatchObject({ waitedSeconds: 10, status: "HTTP 200", attempts: 3 });
    expect(reporter.lines[0]).toMatch(/waiting for Tines at .*: connect ECONNREFUSED .*; 1m00s left/);
    expect(reporter.lines[1]).toMatch(/HTTP 500; 55s left/);
    expect(reporter.lines.join("\n")).not.toContain("hunter2");
  });
});

describe("the health gate against a Tines-like endpoint on real PostgreSQL, Redis and Sidekiq", () => {
  let redis: RunningServer;
  let healthy: TinesHealthServer;
  let never: TinesHealthServer;
  let sidekiq: SidekiqServer | undefined;

  beforeAll(async () => {
    const databaseUrl = process.env.TEST_PG_SOURCE_URL;
    if (!databaseUrl) throw new Error("TEST_PG_SOURCE_URL is not set: run through vitest's global setup");
    redis = await startRedis();
    [healthy, never] = await Promise.all([
      startTinesHealthServer({ databaseUrl, redisUrl: redis.url }),
      startTinesHealthServer({ databaseUrl, redisUrl: redis.url, never: true }),
    ]);
  }, 60_000);

  afterAll(async () => {
    await sidekiq?.stop();
    await Promise.all([healthy?.stop(), never?.stop()]);
    await redis?.stop();
  });

  it("waits while no Sidekiq process is up, and passes once a real one heartbeats", async () => {
    expect(await probeTinesHealth(`${healthy.url}/is_up`, 5000)).toEqual({
      healthy: false,
      status: "HTTP 500",
    });
    expect((await probeTinesHealth(`${healthy.url}/health`, 5000)).status).toBe(
      "HTTP 200 healthy: false (sidekiq: false)",
    );
    const reporter = recordingReporter();
    const waiting = waitForTinesHealth(
      { url: `${healthy.url}/is_up`, timeoutSeconds: 60, intervalSeconds: 1 },
      reporter,
    );
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const sidekiqStartedAt = Date.now();
    sidekiq = await startSidekiq({ redisUrl: redis.url });
    const result = await waiting;
    expect(Date.parse(result.healthyAt)).toBeGreaterThanOrEqual(sidekiqStartedAt);
    expect(reporter.lines[0]).toMatch(
      /waiting for Tines at 127\.0\.0\.1:\d+\/is_up: HTTP 500; (1m00s|\d+s) left/,
    );
    expect((await probeTinesHealth(`${healthy.url}/health`, 5000)).healthy).toBe(true);

    // Sidekiq stopped: Tines is unhealthy again, as the seed's order makes it during shutdown.
    await sidekiq.stop();
    sidekiq = undefined;
    expect((await probeTinesHealth(`${healthy.url}/is_up`, 5000)).healthy).toBe(false);
  }, 90_000);

  it("fails after its timeout with one line naming the URL and the last answer", async () => {
    let message = "";
    try {
      await waitForTinesHealth(
        { url: `${never.url}/health`, timeoutSeconds: 3, intervalSeconds: 1 },
        recordingReporter(),
      );
    } catch (error) {
      expect(isMaintenanceError(error)).toBe(true);
      message = (error as Error).message;
    }
    expect(message).toMatch(
      /^tines-health: Tines did not report healthy at 127\.0\.0\.1:\d+\/health within 3s; last answer: HTTP 200 healthy: false/,
    );
    expect(message).not.toMatch(/\n|\s+at\s+\S+\s+\(/);
  }, 30_000);
});
