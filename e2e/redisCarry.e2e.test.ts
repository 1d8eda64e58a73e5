/**
 * A shutdown that moves REDIS_URL to another Redis (issue 21), under the real Pulumi CLI with
 * the policy pack, ECS on moto, two real Redis servers and REDIS_URL in Secrets Manager: the
 * `sidekiq-carry` gate copies Sidekiq's scheduled jobs, retries and dead jobs to the new Redis
 * once the last writer is down, and the old Redis is left exactly as it was. A new Redis that
 * cannot be reached is refused before anything stops.
 */
import Redis from "ioredis";
import { describe, expect, it } from "vitest";
import { TEST_REDIS_USER_PASSWORD, freePort, startMoto, startRedis } from "../testkit/servers";
import { redisState } from "../testkit/redisState";
import { scheduleJob } from "../testkit/sidekiqJobs";
import { ecsDesiredCounts } from "../testkit/motoEcs";
import { createEnvSecret, ecsE2e, logRun } from "./ecsStack";
import { quickDrainConfig, tinesRedisUrl } from "./stackConfig";

const COUNTS = { "tines-app": 2, "tines-sidekiq": 1, "tines-command-runner": 1 };
const SERVICES = Object.keys(COUNTS);
const SECRET_ID = "tines/production/env";

describe("sidekiq-carry: a shutdown that moves REDIS_URL (real Pulumi CLI, ECS on moto, two Redis)", () => {
  const env = ecsE2e(async ({ start, afterFile, ecsStack }) => {
    const [oldServer, newServer, moto] = await start(startRedis(), startRedis(), startMoto());
    const oldRedis = new Redis(oldServer.url);
    const newRedis = new Redis(newServer.url);
    afterFile(() => {
      oldRedis.disconnect();
      newRedis.disconnect();
    });
    const nowSeconds = Date.now() / 1000;
    // Sidekiq's held jobs, as Sidekiq writes them: due in 2 h and in 24 h, a retry in 3 h, one dead.
    await scheduleJob(oldRedis, "schedule", nowSeconds + 7200);
    await scheduleJob(oldRedis, "schedule", nowSeconds + 86_400);
    await scheduleJob(oldRedis, "retry", nowSeconds + 10_800);
    await scheduleJob(oldRedis, "dead", nowSeconds - 3600);
    // Tines' cache, which is not Sidekiq's and stays behind.
    await oldRedis.set("cache:views/1", "x");
    const secret = await createEnvSecret(moto, SECRET_ID, {
      REDIS_URL: "redis://old-redis.internal:6379/0",
      RAILS_ENV: "production",
    });
    const { stack, ecs } = await ecsStack({
      stack: "e2e-redis-carry",
      moto,
      counts: COUNTS,
      config: {
        ...quickDrainConfig(30),
        // One sample or two; its read is bounded by this time (0 would leave it 0.5 s).
        "sidekiq.preflightSeconds": 3,
        ...secret.targetConfig,
      },
    });
    await stack.setSecret("sidekiq.redisUrl", tinesRedisUrl(oldServer));
    return { oldServer, newServer, oldRedis, newRedis, newUrl: tinesRedisUrl(newServer), secret, stack, ecs };
  });

  const readEnv = () => env.secret.read();

  it("refuses before anything stops when the new Redis cannot be reached; both Redis as they were", async () => {
    const closed = await freePort();
    await env.stack.setSecret(
      "endpoints.redisUrl",
      `redis://tines:${TEST_REDIS_USER_PASSWORD}@127.0.0.1:${closed}/0`,
    );
    const [oldBefore, newBefore] = await Promise.all([
      redisState(env.oldServer.url),
      redisState(env.newServer.url),
    ]);
    const result = await env.stack.up("e2e: Redis move to a Redis that is down");
    const output = logRun("up (new Redis down)", result);
    expect(result.code, output).not.toBe(0);
    expect(output).toMatch(
      new RegExp(
        `maintenance-window: refused, nothing was changed: endpoints\\.redisUrl: the new Redis cannot be reached: Redis 127\\.0\\.0\\.1:${closed} db 0: connection refused`,
      ),
    );
    expect(output).not.toContain(TEST_REDIS_USER_PASSWORD);
    expect(output).not.toContain("redis://tines");
    expect(await ecsDesiredCounts(env.ecs, SERVICES)).toEqual(COUNTS);
    expect((await readEnv()).REDIS_URL).toBe("redis://old-redis.internal:6379/0");
    expect(await redisState(env.oldServer.url)).toEqual(oldBefore);
    expect(await redisState(env.newServer.url)).toEqual(newBefore);
  });

  it("carries every scheduled job, retry and dead job with its score; the old Redis is unchanged", async () => {
    await env.stack.setSecret("endpoints.redisUrl", env.newUrl);
    const oldBefore = await redisState(env.oldServer.url);
    const result = await env.stack.up("e2e: Redis move with Sidekiq's held jobs");
    const output = logRun("up (carry)", result);
    expect(result.code, output).toBe(0);
    expect(output).toMatch(
      /sidekiq-drain: .*2 scheduled for later \(next due in 1h\d\dm\), 1 retry \(next attempt in 2h\d\dm\), 1 dead: carried to the new Redis at the switch/,
    );
    expect(output).toMatch(
      /sidekiq-carry: .*1 dead: carried to the new Redis; verified on both sides \(4 entries written/,
    );
    expect(await ecsDesiredCounts(env.ecs, SERVICES)).toEqual({
      "tines-app": 0,
      "tines-sidekiq": 0,
      "tines-command-runner": 0,
    });
    expect((await readEnv()).REDIS_URL).toBe(env.newUrl);

    expect(await redisState(env.oldServer.url)).toEqual(oldBefore);
    for (const set of ["schedule", "retry", "dead"]) {
      expect(await env.newRedis.zrange(set, 0, -1, "WITHSCORES"), set).toEqual(
        await env.oldRedis.zrange(set, 0, -1, "WITHSCORES"),
      );
      expect(await env.newRedis.dumpBuffer(set), set).toEqual(await env.oldRedis.dumpBuffer(set));
    }
    expect(await env.newRedis.exists("cache:views/1")).toBe(0);

    const outputs = await env.stack.outputs();
    const carry = (outputs.audit as Record<string, Record<string, unknown>>).sidekiqCarry;
    expect(carry).toMatchObject({
      outcome: "carried",
      mode: "carry",
      from: `127.0.0.1:${new URL(env.oldServer.url).port}`,
      to: `127.0.0.1:${new URL(env.newServer.url).port}`,
      held: { scheduled: 2, retries: 1, dead: 1, queued: 0 },
      carried: { scheduled: 2, retries: 1, dead: 1, queued: 0 },
      written: { scheduled: 2, retries: 1, dead: 1, queued: 0 },
      leftBehind: { scheduled: 0, retries: 0, dead: 0, queued: 0 },
      method: "restore",
    });
    expect((outputs.steps as string[]).indexOf("sidekiq-carry")).toBe(
      (outputs.steps as string[]).indexOf("tines-command-runner") + 1,
    );
    expect(JSON.stringify(outputs)).not.toContain(TEST_REDIS_USER_PASSWORD);
  });

  it("a retried shutdown carries again idempotently: nothing written, everything verified", async () => {
    const [oldBefore, newBefore] = await Promise.all([
      redisState(env.oldServer.url),
      redisState(env.newServer.url),
    ]);
    const result = await env.stack.up("e2e: the same shutdown again");
    const output = logRun("up (carry again)", result);
    expect(result.code, output).toBe(0);
    const carry = ((await env.stack.outputs()).audit as Record<string, Record<string, unknown>>).sidekiqCarry;
    expect(carry).toMatchObject({
      outcome: "carried",
      carried: { scheduled: 2, retries: 1, dead: 1, queued: 0 },
      written: { scheduled: 0, retries: 0, dead: 0, queued: 0 },
    });
    expect(await redisState(env.oldServer.url)).toEqual(oldBefore);
    expect(await redisState(env.newServer.url)).toEqual(newBefore);
  });
});
