/**
 * A gate's pass holds only for the update in which it ran (issue 12, item 6), under the
 * real Pulumi CLI with the policy pack, ECS on moto and a real Redis:
 *  1. a shutdown passes the drain gate, stops Sidekiq, then fails at a later step;
 *  2. meanwhile Sidekiq is started again outside Pulumi and jobs are queued: the retried
 *     shutdown runs the drain gate again and refuses, leaving Sidekiq and the jobs as
 *     they were (before the fix the gate's old pass was trusted, the update succeeded and
 *     left Sidekiq running, as its step saw no change either);
 *  3. the operator aborts to phase running;
 *  4. once the jobs are worked off, the retried shutdown drains and completes.
 */
import { UpdateServiceCommand, ECSClient } from "@aws-sdk/client-ecs";
import Redis from "ioredis";
import { describe, expect, it } from "vitest";
import { enqueue } from "../testkit/sidekiqJobs";
import { startMoto, startRedis } from "../testkit/servers";
import { ecsE2e, logRun, MOTO_CREDENTIALS } from "./ecsStack";
import { quickDrainConfig } from "./stackConfig";
import { ecsDesiredCounts } from "../testkit/motoEcs";

const COUNTS = { "tines-app": 2, "tines-sidekiq": 2, "tines-command-runner": 1, "pypi-server": 1 };
const QUEUE = "default";
const JOBS = 5;

describe("a retried shutdown runs the drain gate again (real Pulumi CLI, ECS on moto, real Redis)", () => {
  const services = Object.keys(COUNTS);

  const env = ecsE2e(async ({ start, afterFile, ecsStack }) => {
    const [redisServer, moto] = await start(startRedis(), startMoto());
    const redis = new Redis(redisServer.url);
    afterFile(() => redis.disconnect());
    const { "pypi-server": pypiServer, ...tines } = COUNTS;
    const { stack, ecs } = await ecsStack({
      stack: "e2e-retry",
      moto,
      counts: COUNTS,
      services: tines,
      config: {
        // A workload name that does not exist, on the last step (the version guard reads only
        // the Tines services before the first stop): the shutdown fails after the drain gate.
        "services.pypi-server.count": pypiServer,
        "services.pypi-server.name": "pypi-server-typo",
        ...quickDrainConfig(14),
        "sidekiq.preflight": "off",
      },
    });
    await stack.setSecret("sidekiq.redisUrl", redisServer.url);
    return { redis, stack, ecs };
  });

  it("1. the shutdown passes the drain gate, stops Sidekiq, then fails at a later step", async () => {
    const output = logRun("up (shutdown, fails after the drain)", await env.stack.up("e2e: shutdown, typo"));
    expect(output).toMatch(/pypi-server-typo/);
    expect(await ecsDesiredCounts(env.ecs, services)).toEqual({
      ...COUNTS,
      "tines-app": 0,
      "tines-sidekiq": 0,
      "tines-command-runner": 0,
    });
  });

  it("2. Sidekiq started again with jobs queued: the retry runs the gate again and refuses", async () => {
    const client = new ECSClient({
      endpoint: env.ecs.endpoint,
      region: env.ecs.region,
      credentials: MOTO_CREDENTIALS,
    });
    await client.send(
      new UpdateServiceCommand({ cluster: env.ecs.cluster, service: "tines-sidekiq", desiredCount: 2 }),
    );
    await enqueue(env.redis, QUEUE, JOBS);
    await env.stack.setConfig({ "services.pypi-server.name": "pypi-server" });

    const result = await env.stack.up("e2e: retry after Sidekiq was started again");
    const output = logRun("up (retry, jobs queued)", result);
    expect(result.code, output).not.toBe(0);
    expect(output).toMatch(new RegExp(`sidekiq-drain: queue did not drain .*pending ${JOBS}`));
    expect(await ecsDesiredCounts(env.ecs, services)).toEqual({
      ...COUNTS,
      "tines-app": 0,
      "tines-sidekiq": 2,
      "tines-command-runner": 0,
    });
    expect(await env.redis.llen(`queue:${QUEUE}`)).toBe(JOBS);
  });

  it("3. abort to phase running restores every count", async () => {
    await env.stack.setConfig({ phase: "running" });
    const result = await env.stack.up("e2e: abort to running");
    const output = logRun("up (abort to running)", result);
    expect(result.code, output).toBe(0);
    expect(await ecsDesiredCounts(env.ecs, services)).toEqual(COUNTS);
  });

  it("4. once the jobs are worked off, the retried shutdown drains again and completes", async () => {
    while ((await env.redis.rpop(`queue:${QUEUE}`)) !== null);
    await env.stack.setConfig({ phase: "shutdown" });
    const started = Date.now();
    const result = await env.stack.up("e2e: retry after the queue drained");
    const output = logRun("up (retry, drained)", result);
    expect(result.code, output).toBe(0);
    expect(await ecsDesiredCounts(env.ecs, services)).toEqual({
      "tines-app": 0,
      "tines-sidekiq": 0,
      "tines-command-runner": 0,
      "pypi-server": 0,
    });
    const audit = (await env.stack.outputs()).audit as { sidekiqDrain?: { samples?: Array<{ at: string }> } };
    const samples = audit.sidekiqDrain?.samples ?? [];
    expect(samples.length).toBeGreaterThan(0);
    // The pass on record is this update's, not the one from step 1.
    expect(Date.parse(samples[0].at)).toBeGreaterThanOrEqual(started);
  });
});
