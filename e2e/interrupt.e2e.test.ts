/**
 * `pulumi up` interrupted during the drain gate, as operators meet it (issue 9): once with
 * SIGINT (Ctrl-C) and once with SIGKILL of the whole process group (a killed CI job), then
 * the recovery of docs/RUNBOOK.md ("An interrupted update"). ECS on moto, a real Redis
 * holding queued jobs nobody consumes until the test plays the consumer.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { TEST_REDIS_USER_PASSWORD } from "../testkit/servers/localServers";
import { drainGateE2e, logRun, shutdownIntoDrainGate } from "./ecsStack";
import { ecsDesiredCounts } from "../testkit/motoEcs";
import type { CliResult } from "../testkit/pulumiCli";

const COUNTS = { "tines-app": 2, "tines-sidekiq": 2 };
const QUEUE = "default";
const JOBS = 5;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? filesUnder(file) : [file];
  });
}

describe("an update interrupted during the drain gate (real Pulumi CLI, ECS on moto, real Redis)", () => {
  const drainGate = drainGateE2e({
    stack: "e2e-interrupt",
    counts: COUNTS,
    drainTimeoutSeconds: 20,
  });
  const services = Object.keys(COUNTS);
  const drainJobs = async () => {
    while ((await drainGate.redis.rpop(`queue:${QUEUE}`)) !== null);
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

  it("SIGINT: the update stops before tines-sidekiq; a rerun after the drain completes the window", async () => {
    const interrupted = logRun("up (SIGINT during the drain)", await interruptDuringDrain("SIGINT"));
    expect(await ecsDesiredCounts(drainGate.ecs, services)).toEqual({ "tines-app": 0, "tines-sidekiq": 2 });
    expect(await drainGate.redis.llen(`queue:${QUEUE}`), interrupted).toBe(JOBS);

    await drainJobs();
    const result = await drainGate.stack.up("e2e: rerun after SIGINT");
    const output = logRun("up (rerun after SIGINT)", result);
    expect(result.code, output).toBe(0);
    expect(await ecsDesiredCounts(drainGate.ecs, services)).toEqual({ "tines-app": 0, "tines-sidekiq": 0 });
  });

  it("SIGKILL: cancel, refresh --clear-pending-creates, rerun; counts right, no job lost, no secret on disk", async () => {
    await drainGate.stack.setConfig({ phase: "running" });
    expect(logRun("up (running)", await drainGate.stack.up("e2e: back up")).length).toBeGreaterThan(0);
    expect(await ecsDesiredCounts(drainGate.ecs, services)).toEqual(COUNTS);
    await drainGate.stack.setConfig({ phase: "shutdown" });

    const killed = logRun("up (SIGKILL during the drain)", await interruptDuringDrain("SIGKILL"));
    expect(await ecsDesiredCounts(drainGate.ecs, services)).toEqual({ "tines-app": 0, "tines-sidekiq": 2 });
    expect(await drainGate.redis.llen(`queue:${QUEUE}`), killed).toBe(JOBS);

    // What the operator meets first: the killed update still holds the stack's lock.
    const blocked = await drainGate.stack.up("e2e: rerun without recovery");
    const blockedOutput = logRun("up (rerun, no recovery)", blocked);
    expect(blocked.code, blockedOutput).not.toBe(0);
    expect(blockedOutput).toMatch(/the stack is currently locked/);
    expect(await ecsDesiredCounts(drainGate.ecs, services)).toEqual({ "tines-app": 0, "tines-sidekiq": 2 });

    // The recovery of docs/RUNBOOK.md, step 2.
    logRun("cancel", await drainGate.stack.run(["cancel", "--yes", "--stack", drainGate.stack.stack]));
    const refresh = await drainGate.stack.runScoped(["refresh", "--yes", "--clear-pending-creates"]);
    const refreshOutput = logRun("refresh --clear-pending-creates", refresh);
    console.log(refreshOutput);
    expect(refresh.code, refreshOutput).toBe(0);
    expect(await drainGate.redis.llen(`queue:${QUEUE}`)).toBe(JOBS);

    await drainJobs();
    const result = await drainGate.stack.up("e2e: rerun after SIGKILL");
    const output = logRun("up (rerun after SIGKILL)", result);
    expect(result.code, output).toBe(0);
    expect(await ecsDesiredCounts(drainGate.ecs, services)).toEqual({ "tines-app": 0, "tines-sidekiq": 0 });

    for (const file of filesUnder(drainGate.stack.dir)) {
      expect(readFileSync(file, "latin1"), file).not.toContain(TEST_REDIS_USER_PASSWORD);
    }
  });
});
