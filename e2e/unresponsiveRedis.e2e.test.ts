/**
 * A Redis that accepts the connection and never answers (issue 20, item 2), under the real
 * Pulumi CLI with the policy pack, ECS on moto. Before: the pre-flight was still waiting at
 * 220 s against preflightSeconds 10, the drain gate at 110 s against timeoutSeconds 45, and the
 * first Ctrl-C only printed "cancelling". The fault is a real TCP listener that accepts and
 * never answers (testkit/blackHole.ts); the Ctrl-C case waits on a real Redis.
 */
import Redis from "ioredis";
import { describe, expect, it } from "vitest";
import { startMoto, startRedis } from "../testkit/servers";
import { startBlackHole } from "../testkit/blackHole";
import { enqueue } from "../testkit/sidekiqJobs";
import { ecsE2e, logRun } from "./ecsStack";
import { ecsDesiredCounts } from "../testkit/motoEcs";
import { quickDrainConfig, tinesRedisUrl } from "./stackConfig";

const COUNTS = { "tines-app": 2, "tines-sidekiq": 2 };
const SERVICES = Object.keys(COUNTS);

describe("gates against a Redis that never answers, and the first Ctrl-C (real Pulumi CLI, ECS on moto)", () => {
  const env = ecsE2e(async ({ start, afterFile, ecsStack }) => {
    const [moto, redisServer] = await start(startMoto(), startRedis());
    const hole = await startBlackHole();
    afterFile(() => hole.close());
    const redis = new Redis(redisServer.url);
    afterFile(() => redis.disconnect());
    const { stack, ecs } = await ecsStack({
      stack: "e2e-unresponsive-redis",
      moto,
      counts: COUNTS,
      config: { ...quickDrainConfig(45), "sidekiq.preflight": "warn", "sidekiq.preflightSeconds": 10 },
    });
    await stack.setSecret("sidekiq.redisUrl", `redis://127.0.0.1:${hole.port}/0`);
    return { redisServer, redis, hole, stack, ecs };
  });

  it("the pre-flight fails within its bound, naming Redis and its address; nothing stops", async () => {
    const run = env.stack.startUp("e2e: pre-flight against a Redis that never answers");
    const killer = setTimeout(() => process.kill(-run.child.pid!, "SIGKILL"), 240_000);
    const result = await run.done;
    clearTimeout(killer);
    const output = logRun("up (pre-flight, black hole)", result);
    expect(result.code, output).not.toBe(0);
    expect(output).toContain(
      `Redis 127.0.0.1:${env.hole.port} db 0: accepted the connection but did not answer within 5s`,
    );
    expect(output).not.toContain("[secret]");
    expect(await ecsDesiredCounts(env.ecs, SERVICES)).toEqual(COUNTS);
  });

  it("the drain gate fails within timeoutSeconds (45), naming Redis; Sidekiq keeps running", async () => {
    await env.stack.setConfig({ "sidekiq.preflight": "off" });
    const run = env.stack.startUp("e2e: drain gate against a Redis that never answers");
    const killer = setTimeout(() => process.kill(-run.child.pid!, "SIGKILL"), 300_000);
    // The gate starts once tines-app is down.
    while ((await ecsDesiredCounts(env.ecs, ["tines-app"]))["tines-app"] !== 0 && run.child.exitCode === null)
      await new Promise((r) => setTimeout(r, 250));
    const gateStarted = Date.now();
    const result = await run.done;
    clearTimeout(killer);
    const seconds = (Date.now() - gateStarted) / 1000;
    const output = logRun("up (drain gate, black hole)", result);
    console.log(`--- from tines-app down to the end of the update: ${seconds.toFixed(1)} s`);
    expect(result.code, output).not.toBe(0);
    expect(output).toContain(
      `Redis 127.0.0.1:${env.hole.port} db 0: accepted the connection but did not answer within 5s`,
    );
    expect(seconds).toBeLessThan(45);
    expect(await ecsDesiredCounts(env.ecs, SERVICES)).toEqual({ "tines-app": 0, "tines-sidekiq": 2 });
  });

  it("the first Ctrl-C ends the waiting drain gate within seconds; Sidekiq and every job stay", async () => {
    await env.stack.setSecret("sidekiq.redisUrl", tinesRedisUrl(env.redisServer));
    await env.stack.setConfig({ "sidekiq.timeoutSeconds": 3600 });
    await enqueue(env.redis, "default", 5);
    const run = env.stack.startUp("e2e: Ctrl-C during the drain wait");
    const deadline = Date.now() + 300_000;
    while (!/sidekiq-drain: pending 5/.test(run.output())) {
      if (Date.now() > deadline || run.child.exitCode !== null)
        throw new Error(`the drain gate never waited:\n${run.output()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    // As a terminal's Ctrl-C: SIGINT to pulumi's process group (the plugins run in their own).
    process.kill(-run.child.pid!, "SIGINT");
    const interruptedAt = Date.now();
    const killer = setTimeout(() => process.kill(-run.child.pid!, "SIGKILL"), 120_000);
    const result = await run.done;
    clearTimeout(killer);
    const seconds = (Date.now() - interruptedAt) / 1000;
    const output = logRun("up (Ctrl-C during the drain)", result);
    console.log(`--- Ctrl-C to the end of pulumi up: ${seconds.toFixed(1)} s`);
    expect(result.code, output).not.toBe(0);
    expect(output).toMatch(/sidekiq-drain: stopped waiting, the update was cancelled \(Ctrl-C\)/);
    expect(seconds).toBeLessThan(20);
    expect(await ecsDesiredCounts(env.ecs, SERVICES)).toEqual({ "tines-app": 0, "tines-sidekiq": 2 });
    expect(await env.redis.llen("queue:default")).toBe(5);
    expect(output).not.toContain("NodeVersionSupportWarning");
  });
});
