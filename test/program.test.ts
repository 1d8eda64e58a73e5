import { describe, expect, it } from "vitest";
import { SCALE_DOWN_ORDER } from "../lib/services";
import { runProgram, type ProgramRun, type Registration } from "./pulumiProgram";

const SERVICE_STEP = "tines-maintenance:index:ServiceStep";
const counts = Object.fromEntries(SCALE_DOWN_ORDER.map((key, i) => [key, i + 1]));

const platforms: Record<string, Record<string, unknown>> = {
  ecs: { platform: "ecs", ecs: { cluster: "tines", region: "eu-west-1" } },
  kubernetes: { platform: "kubernetes", kubernetes: { namespace: "tines" } },
  compose: { platform: "compose", compose: { projectName: "tines", projectDirectory: "/srv/tines" } },
};

/** The resource that scales a service: named after the service key, and not the step component. */
function scalingResources(run: ProgramRun): Registration[] {
  return run.registrations.filter(
    (r) => (SCALE_DOWN_ORDER as readonly string[]).includes(r.name) && r.type !== SERVICE_STEP,
  );
}

/** Keys in the order their scaling resources finished, and a check that each started after the one before ended. */
function executionOrder(run: ProgramRun): string[] {
  const byKey = new Map<string, Registration[]>();
  for (const r of scalingResources(run)) byKey.set(r.name, [...(byKey.get(r.name) ?? []), r]);
  const keys = [...byKey.keys()].sort(
    (a, b) => Math.min(...byKey.get(a)!.map((r) => r.start)) - Math.min(...byKey.get(b)!.map((r) => r.start)),
  );
  for (let i = 1; i < keys.length; i++) {
    const previousEnd = Math.max(...byKey.get(keys[i - 1])!.map((r) => r.end));
    const start = Math.min(...byKey.get(keys[i])!.map((r) => r.start));
    expect(start, `${keys[i]} must start after ${keys[i - 1]} finished`).toBeGreaterThan(previousEnd);
  }
  return keys;
}

describe.each(Object.keys(platforms))("program on %s", (platform) => {
  it("shutdown scales every listed service to 0, one after another, in the seed's order", async () => {
    const run = await runProgram({ ...platforms[platform], phase: "shutdown", services: counts });
    expect(executionOrder(run)).toEqual([...SCALE_DOWN_ORDER]);
    expect(run.outputs.phase).toBe("shutdown");
    expect(run.outputs.platform).toBe(platform);
    const services = run.outputs.services as Array<{ name: string; targetCount: number; configuredCount: number }>;
    expect(services.map((s) => [s.name, s.targetCount, s.configuredCount])).toEqual(
      SCALE_DOWN_ORDER.map((key, i) => [key, 0, i + 1]),
    );
  });

  it("running restores the configured counts in the exact reverse order", async () => {
    const run = await runProgram({ ...platforms[platform], phase: "running", services: counts });
    expect(executionOrder(run)).toEqual([...SCALE_DOWN_ORDER].reverse());
    const services = run.outputs.services as Array<{ name: string; targetCount: number }>;
    expect(services.map((s) => [s.name, s.targetCount])).toEqual(
      [...SCALE_DOWN_ORDER].reverse().map((key) => [key, counts[key]]),
    );
  });

  it("keepRunning leaves a service at its count, still in the chain", async () => {
    const run = await runProgram({
      ...platforms[platform],
      phase: "shutdown",
      services: counts,
      keepRunning: ["postgres"],
    });
    expect(executionOrder(run)).toEqual([...SCALE_DOWN_ORDER]);
    const services = run.outputs.services as Array<{ name: string; targetCount: number }>;
    expect(services.find((s) => s.name === "postgres")?.targetCount).toBe(counts.postgres);
    expect(services.filter((s) => s.name !== "postgres").every((s) => s.targetCount === 0)).toBe(true);
  });

  it("touches only the listed services", async () => {
    const run = await runProgram({
      ...platforms[platform],
      phase: "shutdown",
      services: { "tines-app": 2, "tines-sidekiq": 1 },
    });
    expect(executionOrder(run)).toEqual(["tines-app", "tines-sidekiq"]);
  });
});

describe("program with bad config", () => {
  it.each([
    [{ phase: "paused", platform: "ecs", services: { "tines-app": 1 } }, "tines-maintenance:phase: must be one of"],
    [{ phase: "shutdown", platform: "ecs", services: { bogus: 1 } }, "tines-maintenance:services.bogus: unknown service key"],
    [{ phase: "shutdown", platform: "ecs", services: { "tines-app": -2 } }, "must be a whole number >= 0"],
    [
      { phase: "shutdown", platform: "ecs", services: { "tines-app": 1 }, keepRunning: ["redis"] },
      '"redis" is not in services',
    ],
  ])("registers nothing for %j", async (config, message) => {
    let registered = 0;
    await expect(
      runProgram(config, { state: () => (registered++, {}) }),
    ).rejects.toThrow(message);
    expect(registered).toBe(0);
  });
});
