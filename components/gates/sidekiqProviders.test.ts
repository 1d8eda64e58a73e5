import { describe, expect, it } from "vitest";
import { redisDatabasePerFile } from "../../testkit/testScope";
import { GateError } from "../../lib/errors";
import type { DrainGateInputs, PreflightInputs } from "../../lib/sidekiq/gate";
import { enqueue, heartbeat, quickDrainInputs } from "../../testkit/sidekiqJobs";
import { createSerialized } from "../../testkit/runSerialized";
import { freePort, TEST_REDIS_USER_PASSWORD } from "../../testkit/servers/localServers";
import { sidekiqDrainProvider } from "./sidekiqDrain";
import { sidekiqPreflightProvider } from "./sidekiqPreflight";

const drain = sidekiqDrainProvider.provider;
const preflight = sidekiqPreflightProvider.provider;

const { url, redis } = redisDatabasePerFile(6);
const port = new URL(url).port;
// The ACL user's password must never reach outputs or messages.
const secretUrl = `redis://tines:${TEST_REDIS_USER_PASSWORD}@127.0.0.1:${port}/6`;

function drainInputs(overrides: Partial<DrainGateInputs> = {}): DrainGateInputs {
  return { ...quickDrainInputs(secretUrl, 2), ...overrides };
}

function preflightInputs(overrides: Partial<PreflightInputs> = {}): PreflightInputs {
  return {
    redisUrl: secretUrl,
    namespace: "",
    trigger: "",
    mode: "warn",
    preflightSeconds: 0.3,
    intervalSeconds: 0.1,
    windowSeconds: 30,
    maxSize: 0,
    ...overrides,
  };
}

describe("sidekiqDrainProvider against redis-server", () => {
  it("create passes an empty queue and records the samples, without the password", async () => {
    const created = await drain.create!(drainInputs());
    expect(created.outs).toMatchObject({
      outcome: "passed",
      redis: `redis://tines:***@127.0.0.1:${port}/6`,
      maxSize: 0,
      samples: expect.arrayContaining([expect.objectContaining({ pending: 0, busy: 0 })]),
    });
    // Passed only once quiet for the settle time, whatever the sampling's pace under load.
    const samples = created.outs.samples as Array<{ at: string }>;
    const quietSeconds = (Date.parse(samples[samples.length - 1].at) - Date.parse(samples[0].at)) / 1000;
    expect(quietSeconds).toBeGreaterThanOrEqual(drainInputs().settleSeconds);
    expect(created.outs).not.toHaveProperty("redisUrl");
    expect(JSON.stringify(created)).not.toContain(TEST_REDIS_USER_PASSWORD);
  });

  it("create fails on timeout with the samples, so the step after it never runs", async () => {
    await enqueue(redis, "default", 5);
    await heartbeat(redis, "worker-1", 1);
    const error = await drain.create!(drainInputs({ timeoutSeconds: 0.5 })).catch((e) => e);
    expect(error).toBeInstanceOf(GateError);
    expect(error.message).toMatch(
      /^sidekiq-drain: queue did not drain within 1s \(pending 5 > max size 0\); .*pending 5 busy 1$/,
    );
    expect(error.message).not.toContain(TEST_REDIS_USER_PASSWORD);
    expect(await redis.llen("queue:default")).toBe(5);
  });

  it("update runs the gate again only for a new trigger", async () => {
    const created = await drain.create!(drainInputs({ trigger: "run-1" }));
    const dead = `redis://127.0.0.1:${await freePort()}`;
    // Same trigger: no Redis access at all (the URL points nowhere).
    const same = await drain.update!(
      created.id,
      created.outs,
      drainInputs({ trigger: "run-1", redisUrl: dead }),
    );
    expect(same.outs).toBe(created.outs);
    await expect(
      drain.update!(created.id, created.outs, drainInputs({ trigger: "run-2", redisUrl: dead })),
    ).rejects.toThrow(/connection refused/);
  });

  it("check names bad inputs and diff touches nothing", async () => {
    const checked = await drain.check!(
      {},
      { ...drainInputs(), redisUrl: "http://h", maxSize: -1, settleSeconds: 60 },
    );
    expect(checked.failures).toEqual([
      { property: "redisUrl", reason: 'must be a redis:// or rediss:// URL, got scheme "http"' },
      { property: "maxSize", reason: "must be a whole number >= 0" },
    ]);
    // Counts must be whole; durations may be fractions of a second.
    expect((await drain.check!({}, drainInputs({ maxSize: 1.5, maxBusy: 0.5 }))).failures).toEqual([
      { property: "maxSize", reason: "must be a whole number >= 0" },
      { property: "maxBusy", reason: "must be a whole number >= 0" },
    ]);
    expect((await preflight.check!({}, preflightInputs({ maxSize: 2.5 }))).failures).toEqual([
      { property: "maxSize", reason: "must be a whole number >= 0" },
    ]);
    expect((await drain.check!({}, drainInputs({ timeoutSeconds: 12.5 }))).failures).toEqual([]);
    expect(
      (await drain.check!({}, drainInputs({ settleSeconds: 60, timeoutSeconds: 120 }))).failures,
    ).toEqual([
      {
        property: "settleSeconds",
        reason: "must be <= windowSeconds (30); the settled run must fit in the window",
      },
    ]);
    // A timeout the gate could not pass within against a Sidekiq 7/8 (10 s heartbeat).
    expect((await drain.check!({}, drainInputs({ timeoutSeconds: 2 }))).failures).toEqual([
      {
        property: "timeoutSeconds",
        reason:
          "must be >= 12.2 (a settle of 12s, which covers a Sidekiq 7/8 heartbeat, plus two intervals of 0.1s), or the gate could never pass",
      },
    ]);
    expect(
      await drain.diff!("id", { trigger: "a", maxSize: 0 }, drainInputs({ trigger: "a", maxSize: 9 })),
    ).toMatchObject({
      changes: false,
    });
    expect(await drain.diff!("id", { trigger: "a" }, drainInputs({ trigger: "b" }))).toMatchObject({
      changes: true,
      replaces: [],
    });
    await drain.delete!("id", {});
  });
});

describe("sidekiqPreflightProvider against redis-server", () => {
  it("passes a queue that is falling", async () => {
    await enqueue(redis, "default", 50);
    const consumer = setInterval(() => void redis.rpop("queue:default", 5), 50);
    try {
      const created = await preflight.create!(preflightInputs());
      expect(created.outs).toMatchObject({ outcome: "ok", reason: expect.stringMatching(/falling/) });
    } finally {
      clearInterval(consumer);
    }
  });

  it("warns, or refuses, when the queue is non-zero and not falling", async () => {
    await enqueue(redis, "default", 7);
    const warned = await preflight.create!(preflightInputs({ mode: "warn" }));
    expect(warned.outs).toMatchObject({
      outcome: "warned",
      reason: expect.stringMatching(/scale tines-sidekiq up/),
    });
    const refused = await preflight.create!(preflightInputs({ mode: "refuse" })).catch((e) => e);
    expect(refused).toBeInstanceOf(GateError);
    expect(refused.message).toMatch(
      /^sidekiq-preflight: Sidekiq queue is non-zero and not falling \(7 -> .*nothing was changed/,
    );
  });

  it("is skipped without touching Redis when off", async () => {
    const dead = `redis://127.0.0.1:${await freePort()}`;
    const created = await preflight.create!(preflightInputs({ mode: "off", redisUrl: dead }));
    expect(created.outs).toMatchObject({ outcome: "skipped", samples: [] });
    expect((await preflight.check!({}, preflightInputs({ mode: "sometimes" as never }))).failures).toEqual([
      { property: "mode", reason: "must be one of: warn, refuse, off" },
    ]);
  });
});

describe("as the Pulumi CLI runs it", () => {
  it("both serialized providers run create against the real Redis", async () => {
    await enqueue(redis, "mailers", 0);
    const runs = [
      await createSerialized(sidekiqDrainProvider.type, drainInputs({ settleSeconds: 0 })),
      await createSerialized(sidekiqPreflightProvider.type, preflightInputs({ preflightSeconds: 0 })),
    ];
    const results = runs.map((run) => (run.ok ? run.result.outs : run.stderr));
    expect(results, runs.map((run) => run.stdout).join("\n")).toMatchObject([
      { outcome: "passed", samples: [{ pending: 0, busy: 0 }] },
      { outcome: "ok", samples: [{ pending: 0, busy: 0 }] },
    ]);
    // Two children, each bounded by createSerialized's own 55 s.
  }, 120_000);
});
