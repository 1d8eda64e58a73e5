/**
 * An endpoint switch under the real Pulumi CLI: with everything down, DATABASE_HOST and
 * REDIS_URL are rewritten in the ECS environment secret (Secrets Manager on moto), and the
 * startup waits until the new endpoints answer (a real PostgreSQL and a real Redis).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  TEST_REDIS_USER_PASSWORD,
  startMoto,
  startPostgres,
  startRedis,
  type RunningServer,
} from "../testkit/servers/localServers";
import { createEcsStack, createEnvSecret, type EnvSecret } from "./ecsStack";
import { ecsDesiredCounts, type MotoEcs } from "../testkit/motoEcs";
import type { PulumiStack } from "../testkit/pulumiCli";

const COUNTS = { "tines-app": 2, "tines-command-runner": 1 };
const SECRET_ID = "tines/production/env";
const OLD_ENV = {
  DATABASE_HOST: "old-db.internal.example",
  REDIS_URL: "redis://old-redis.internal.example:6379/0",
  RAILS_ENV: "production",
};

describe("endpoint switch in Secrets Manager, real Pulumi CLI", () => {
  let servers: RunningServer[] = [];
  let ecs: MotoEcs;
  let secret: EnvSecret;
  let stack: PulumiStack;
  let newRedisUrl: string;
  let pgPort: number;

  const readEnv = () => secret.read();

  beforeAll(async () => {
    const [pg, redis, moto] = await Promise.all([startPostgres("e2e-new-db"), startRedis(), startMoto()]);
    servers = [pg, redis, moto];
    pgPort = Number(new URL(pg.url).port);
    newRedisUrl = `redis://tines:${TEST_REDIS_USER_PASSWORD}@127.0.0.1:${new URL(redis.url).port}/0`;
    secret = await createEnvSecret(moto, SECRET_ID, OLD_ENV);

    ({ stack, ecs } = await createEcsStack({
      stack: "e2e-endpoints",
      moto,
      cluster: "tines-e2e-endpoints",
      counts: COUNTS,
      config: {
        "endpoints.databaseHost": "127.0.0.1",
        "endpoints.databasePort": pgPort,
        ...secret.targetConfig,
        "endpoints.propagation.intervalSeconds": 1,
        "endpoints.propagation.timeoutSeconds": 30,
      },
    }));
    await stack.setSecret("endpoints.redisUrl", newRedisUrl);
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    if (stack && !process.env.E2E_KEEP) stack.remove();
  });

  const outputs: string[] = [];

  it("shutdown writes the new endpoints once everything is down, keeping the other variables", async () => {
    const result = await stack.up("e2e: shutdown and switch endpoints");
    const output = result.stdout + result.stderr;
    outputs.push(output);
    console.log(`--- up (shutdown + switch): exit ${result.code} in ${result.seconds.toFixed(1)} s`);
    console.log(output.slice(output.indexOf("Diagnostics:")));
    expect(result.code, output).toBe(0);
    expect(await ecsDesiredCounts(ecs, Object.keys(COUNTS))).toEqual({
      "tines-app": 0,
      "tines-command-runner": 0,
    });
    expect(await readEnv()).toEqual({
      DATABASE_HOST: "127.0.0.1",
      REDIS_URL: newRedisUrl,
      RAILS_ENV: "production",
    });
  });

  it("startup checks the new endpoints answer, then restores the counts", async () => {
    await stack.setConfig({ phase: "running" });
    const result = await stack.up("e2e: startup on the new endpoints");
    const output = result.stdout + result.stderr;
    outputs.push(output);
    console.log(`--- up (running + propagation): exit ${result.code} in ${result.seconds.toFixed(1)} s`);
    console.log(output.slice(output.indexOf("Diagnostics:")));
    expect(result.code, output).toBe(0);
    expect(await ecsDesiredCounts(ecs, Object.keys(COUNTS))).toEqual(COUNTS);
    const audit = (await stack.outputs()).audit as {
      endpointSwitch?: { databaseHost?: string; previousDatabaseHost?: string };
    };
    expect(audit.endpointSwitch).toMatchObject({
      databaseHost: "127.0.0.1",
      previousDatabaseHost: OLD_ENV.DATABASE_HOST,
    });
  });

  it("the Redis password is nowhere in plain text", async () => {
    const texts = [...(await stack.storedTexts()), ...outputs];
    for (const text of texts) expect(text).not.toContain(TEST_REDIS_USER_PASSWORD);
  });
});
