/**
 * An endpoint switch under the real Pulumi CLI: with everything down, DATABASE_HOST and
 * REDIS_URL are rewritten in the ECS environment secret (Secrets Manager on moto), and the
 * startup waits until the new endpoints answer (a real PostgreSQL and a real Redis).
 */
import { describe, expect, it } from "vitest";
import { TEST_REDIS_USER_PASSWORD, startMoto, startPostgres, startRedis } from "../testkit/servers";
import { createEnvSecret, ecsE2e, logRun } from "./ecsStack";
import { ecsDesiredCounts } from "../testkit/motoEcs";

const COUNTS = { "tines-app": 2, "tines-command-runner": 1 };
const SECRET_ID = "tines/production/env";
const OLD_ENV = {
  DATABASE_HOST: "old-db.internal.example",
  REDIS_URL: "redis://old-redis.internal.example:6379/0",
  RAILS_ENV: "production",
};

describe("endpoint switch in Secrets Manager, real Pulumi CLI", () => {
  const env = ecsE2e(async ({ start, ecsStack }) => {
    const [pg, redis, moto] = await start(startPostgres("e2e-new-db"), startRedis(), startMoto());
    const newRedisUrl = `redis://tines:${TEST_REDIS_USER_PASSWORD}@127.0.0.1:${new URL(redis.url).port}/0`;
    const secret = await createEnvSecret(moto, SECRET_ID, OLD_ENV);
    const { stack, ecs } = await ecsStack({
      stack: "e2e-endpoints",
      moto,
      counts: COUNTS,
      config: {
        "endpoints.databaseHost": "127.0.0.1",
        "endpoints.databasePort": Number(new URL(pg.url).port),
        ...secret.targetConfig,
        "endpoints.propagation.intervalSeconds": 1,
        "endpoints.propagation.timeoutSeconds": 30,
      },
    });
    await stack.setSecret("endpoints.redisUrl", newRedisUrl);
    return { stack, ecs, secret, newRedisUrl };
  });

  const readEnv = () => env.secret.read();

  const outputs: string[] = [];

  it("shutdown writes the new endpoints once everything is down, keeping the other variables", async () => {
    const result = await env.stack.up("e2e: shutdown and switch endpoints");
    const output = logRun("up (shutdown + switch)", result);
    outputs.push(output);
    expect(result.code, output).toBe(0);
    expect(await ecsDesiredCounts(env.ecs, Object.keys(COUNTS))).toEqual({
      "tines-app": 0,
      "tines-command-runner": 0,
    });
    expect(await readEnv()).toEqual({
      DATABASE_HOST: "127.0.0.1",
      REDIS_URL: env.newRedisUrl,
      RAILS_ENV: "production",
    });
  });

  it("startup checks the new endpoints answer, then restores the counts", async () => {
    await env.stack.setConfig({ phase: "running" });
    const result = await env.stack.up("e2e: startup on the new endpoints");
    const output = logRun("up (running + propagation)", result);
    outputs.push(output);
    expect(result.code, output).toBe(0);
    expect(await ecsDesiredCounts(env.ecs, Object.keys(COUNTS))).toEqual(COUNTS);
    const audit = (await env.stack.outputs()).audit as {
      endpointSwitch?: { databaseHost?: string; previousDatabaseHost?: string };
    };
    expect(audit.endpointSwitch).toMatchObject({
      databaseHost: "127.0.0.1",
      previousDatabaseHost: OLD_ENV.DATABASE_HOST,
    });
  });

  it("the Redis password is nowhere in plain text", async () => {
    const texts = [...(await env.stack.storedTexts()), ...outputs];
    for (const text of texts) expect(text).not.toContain(TEST_REDIS_USER_PASSWORD);
  });
});
