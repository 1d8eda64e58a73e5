/**
 * `pulumi up` killed with SIGKILL while the drain gate waits (a killed CI job): the Node
 * dynamic-provider process it had started is in its own process group, so the kill does not
 * reach it. It must notice that the engine is gone, stop waiting and exit by itself, without
 * growing meanwhile, and leave everything as the gate found it (the gate only reads). Real
 * Pulumi CLI, ECS on moto, jobs queued in a real Redis that nobody consumes.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { drainGateE2e, shutdownIntoDrainGate } from "./ecsStack";
import { ecsDesiredCounts } from "../testkit/motoEcs";
import { processCommand } from "../testkit/pulumiCli";

const COUNTS = { "tines-app": 2, "tines-sidekiq": 2 };
const QUEUE = "default";
const JOBS = 5;
/** How long the provider may outlive the engine. */
const EXIT_WITHIN_SECONDS = 10;
/** How long the test watches a provider that does not exit (the defect), sampling its RSS. */
const OBSERVE_SECONDS = Number(process.env.ORPHAN_OBSERVE_SECONDS ?? 30);
/** RSS growth allowed while the provider is still alive after the kill. */
const RSS_GROWTH_LIMIT_KIB = 32 * 1024;

/** Resident set size (KiB) of a process, or undefined once it has gone. */
function rssKib(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

function isZombieOrGone(pid: number): boolean {
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return true;
  }
}

const cmdline = processCommand;

describe("a dynamic provider orphaned by SIGKILL of pulumi up during the drain gate (real Pulumi CLI)", () => {
  const drainGate = drainGateE2e({
    stack: "e2e-orphan",
    counts: COUNTS,
    // Long enough that only the engine's death can end the wait within the test.
    drainTimeoutSeconds: 3600,
  });

  it(`the provider exits within ${EXIT_WITHIN_SECONDS} s of the kill, without growing, and changed nothing`, async () => {
    // The drain gate is polling once this returns (5 jobs queued, nobody consuming).
    const run = await shutdownIntoDrainGate(
      drainGate,
      QUEUE,
      JOBS,
      "e2e: shutdown, SIGKILL during the drain",
    );
    expect(run.output()).toMatch(/sidekiq-drain: pending 5/);
    const providers = drainGate.stack
      .strayProcesses()
      .filter((pid) => cmdline(pid).includes("dynamic-provider"));
    expect(providers.length, `no dynamic-provider process found:\n${run.output()}`).toBeGreaterThan(0);

    process.kill(-run.child.pid!, "SIGKILL");
    const killedAt = Date.now();
    await run.done;

    const firstRss = new Map(providers.map((pid) => [pid, rssKib(pid) ?? 0]));
    const peakRss = new Map(firstRss);
    const samples: string[] = [];
    let exitedAfter: number | undefined;
    while ((Date.now() - killedAt) / 1000 < Math.max(OBSERVE_SECONDS, EXIT_WITHIN_SECONDS + 1)) {
      const alive = providers.filter((pid) => !isZombieOrGone(pid));
      for (const pid of alive) peakRss.set(pid, Math.max(peakRss.get(pid) ?? 0, rssKib(pid) ?? 0));
      samples.push(
        `${((Date.now() - killedAt) / 1000).toFixed(1)}s ${alive.map((pid) => `${pid}=${rssKib(pid)}KiB`).join(" ") || "none"}`,
      );
      if (alive.length === 0) {
        exitedAfter = (Date.now() - killedAt) / 1000;
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    const growth = Math.max(...providers.map((pid) => (peakRss.get(pid) ?? 0) - (firstRss.get(pid) ?? 0)));
    console.log(
      `orphaned provider(s) ${providers.join(", ")}: ` +
        `${exitedAfter === undefined ? "still running" : `exited ${exitedAfter.toFixed(1)} s after the kill`}; ` +
        `RSS growth ${growth} KiB; samples: ${samples.join("; ")}`,
    );

    expect(growth, samples.join("\n")).toBeLessThan(RSS_GROWTH_LIMIT_KIB);
    expect(exitedAfter, samples.join("\n")).toBeDefined();
    expect(exitedAfter!).toBeLessThan(EXIT_WITHIN_SECONDS);

    // The gate only read: Sidekiq still running, every job still queued.
    expect(await ecsDesiredCounts(drainGate.ecs, Object.keys(COUNTS))).toEqual({
      "tines-app": 0,
      "tines-sidekiq": 2,
    });
    expect(await drainGate.redis.llen(`queue:${QUEUE}`)).toBe(JOBS);
  });
});
