/**
 * `pulumi up` interrupted during the drain gate, as operators meet it (issue 9): once with
 * SIGINT (Ctrl-C) and once with SIGKILL of the whole process group (a killed CI job), then
 * the recovery of docs/RUNBOOK.md ("An interrupted update"). ECS on moto, a real Redis
 * holding queued jobs nobody consumes until the test plays the consumer.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import Redis from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_REDIS_USER_PASSWORD } from "../testkit/servers/localServers";
import { createDrainGateStack, shutdownIntoDrainGate, type DrainGateStack } from "./ecsStack";
import { ecsDesiredCounts, type MotoEcs } from "../testkit/motoEcs";
import type { CliResult, PulumiStack } from "../testkit/pulumiCli";

const COUNTS = { "tines-app": 2, "tines-sidekiq": 2 };
const QUEUE = "default";
const JOBS = 5;

function log(step: string, result: CliResult): string {
  console.log(`--- ${step}: exit ${result.code} in ${result.seconds.toFixed(1)} s`);
  return result.stdout + result.stderr;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? filesUnder(file) : [file];
  });
}

describe("an update interrupted during the drain gate (real Pulumi CLI, ECS on moto, real Redis)", () => {
  let drainGate: DrainGateStack;
  let ecs: MotoEcs;
  let redis: Redis;
  let stack: PulumiStack;
  const services = Object.keys(COUNTS);
  const drainJobs = async () => {
    while ((await redis.rpop(`queue:${QUEUE}`)) !== null);
  };

  /** Signals the shutdown while the drain gate waits. */
  async function interruptDuringDrain(signal: NodeJS.Signals): Promise<CliResult> {
    const run = await shutdownIntoDrainGate(
      drainGate,
      QUEUE,
      JOBS,
      `e2e: shutdown, ${signal} during the drain`,
    );
    process.kill(-run.child.pid!, signal);
    return run.done;
  }

  beforeAll(async () => {
    drainGate = await createDrainGateStack({
      stack: "e2e-interrupt",
      cluster: "tines-e2e-interrupt",
      counts: COUNTS,
      drainTimeoutSeconds: 20,
    });
    ({ stack, ecs, redis } = drainGate);
  });

  afterAll(async () => {
    await drainGate?.stop();
  });

  it("SIGINT: the update stops before tines-sidekiq; a rerun after the drain completes the window", async () => {
    const interrupted = log("up (SIGINT during the drain)", await interruptDuringDrain("SIGINT"));
    expect(await ecsDesiredCounts(ecs, services)).toEqual({ "tines-app": 0, "tines-sidekiq": 2 });
    expect(await redis.llen(`queue:${QUEUE}`), interrupted).toBe(JOBS);

    await drainJobs();
    const result = await stack.up("e2e: rerun after SIGINT");
    const output = log("up (rerun after SIGINT)", result);
    expect(result.code, output).toBe(0);
    expect(await ecsDesiredCounts(ecs, services)).toEqual({ "tines-app": 0, "tines-sidekiq": 0 });
  });

  it("SIGKILL: cancel, refresh --clear-pending-creates, rerun; counts right, no job lost, no secret on disk", async () => {
    await stack.setConfig({ phase: "running" });
    expect(log("up (running)", await stack.up("e2e: back up")).length).toBeGreaterThan(0);
    expect(await ecsDesiredCounts(ecs, services)).toEqual(COUNTS);
    await stack.setConfig({ phase: "shutdown" });

    const killed = log("up (SIGKILL during the drain)", await interruptDuringDrain("SIGKILL"));
    expect(await ecsDesiredCounts(ecs, services)).toEqual({ "tines-app": 0, "tines-sidekiq": 2 });
    expect(await redis.llen(`queue:${QUEUE}`), killed).toBe(JOBS);

    // What the operator meets first: the killed update still holds the stack's lock.
    const blocked = await stack.up("e2e: rerun without recovery");
    const blockedOutput = log("up (rerun, no recovery)", blocked);
    expect(blocked.code, blockedOutput).not.toBe(0);
    expect(blockedOutput).toMatch(/the stack is currently locked/);
    expect(await ecsDesiredCounts(ecs, services)).toEqual({ "tines-app": 0, "tines-sidekiq": 2 });

    // The recovery of docs/RUNBOOK.md, step 2.
    log("cancel", await stack.run(["cancel", "--yes", "--stack", stack.stack]));
    const refresh = await stack.runScoped(["refresh", "--yes", "--clear-pending-creates"]);
    const refreshOutput = log("refresh --clear-pending-creates", refresh);
    console.log(refreshOutput);
    expect(refresh.code, refreshOutput).toBe(0);
    expect(await redis.llen(`queue:${QUEUE}`)).toBe(JOBS);

    await drainJobs();
    const result = await stack.up("e2e: rerun after SIGKILL");
    const output = log("up (rerun after SIGKILL)", result);
    expect(result.code, output).toBe(0);
    expect(await ecsDesiredCounts(ecs, services)).toEqual({ "tines-app": 0, "tines-sidekiq": 0 });

    for (const file of filesUnder(stack.dir)) {
      expect(readFileSync(file, "latin1"), file).not.toContain(TEST_REDIS_USER_PASSWORD);
    }
  });
});
