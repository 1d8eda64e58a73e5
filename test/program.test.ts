import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it, vi } from "vitest";
import { SEED_ORDER, SHUTDOWN_STEPS, without } from "../testkit/runbook";
import { runProgram, type ProgramRun, type Registration } from "../testkit/mocks";

// Under vitest's module transform the database gates' providers cannot be serialized (it
// captures vite's helpers); mocks never call providers anyway, so every gate gets a
// stand-in. test/providerSerialization.test.ts proves that every real provider serializes
// and loads as the Pulumi CLI runs it.
vi.mock("../components/provider/defineProvider", async (original) =>
  (await import("../testkit/mocks")).withStandInProviders(await original()),
);

const SERVICE_STEP = "tines-maintenance:index:ServiceStep";
const counts = Object.fromEntries(SEED_ORDER.map((key, i) => [key, i + 1]));
const REDIS_PASSWORD = "queue-secret-7f3a";
const sidekiq = { redisUrl: `redis://:${REDIS_PASSWORD}@10.0.0.5:6379/1` };

const platforms: Record<string, Record<string, unknown>> = {
  ecs: { platform: "ecs", ecs: { cluster: "tines", region: "eu-west-1" }, sidekiq },
  kubernetes: { platform: "kubernetes", kubernetes: { namespace: "tines" }, sidekiq },
  compose: {
    platform: "compose",
    compose: { projectName: "tines", projectDirectory: "/srv/tines" },
    sidekiq,
  },
};

/** The resource that scales a service: named after the service key, and not the step component. */
function scalingResources(run: ProgramRun): Registration[] {
  return run.registrations.filter(
    (r) => (SEED_ORDER as readonly string[]).includes(r.name) && r.type !== SERVICE_STEP,
  );
}

/** The scaling resources of service `name`. */
const serviceSteps = (run: ProgramRun, name: string) => scalingResources(run).filter((r) => r.name === name);

/** The gate's own dynamic resource (not its component). */
function gateResource(run: ProgramRun, name: string): Registration {
  return run.find(/^pulumi-nodejs:dynamic/, name);
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
    expect(executionOrder(run)).toEqual([...SEED_ORDER]);
    expect(run.outputs.phase).toBe("shutdown");
    expect(run.outputs.platform).toBe(platform);
    const services = run.outputs.services as Array<{
      name: string;
      targetCount: number;
      configuredCount: number;
    }>;
    expect(services.map((s) => [s.name, s.targetCount, s.configuredCount])).toEqual(
      SEED_ORDER.map((key, i) => [key, 0, i + 1]),
    );
  });

  it("drains Sidekiq after tines-app is down and before tines-sidekiq stops; preflight first", async () => {
    const run = await runProgram({ ...platforms[platform], phase: "shutdown", services: counts });
    const drain = gateResource(run, "sidekiq-drain");
    const preflight = gateResource(run, "sidekiq-preflight");
    const app = serviceSteps(run, "tines-app");
    const sidekiqSteps = serviceSteps(run, "tines-sidekiq");
    const nginx = serviceSteps(run, "nginx");
    expect(preflight.end).toBeLessThan(Math.min(...nginx.map((r) => r.start)));
    expect(drain.start).toBeGreaterThan(Math.max(...app.map((r) => r.end)));
    expect(Math.min(...sidekiqSteps.map((r) => r.start))).toBeGreaterThan(drain.end);
    expect(run.outputs.steps).toEqual(
      without(SHUTDOWN_STEPS, "database-backup", "database-migration", "endpoint-switch"),
    );
  });

  it("keeps the Redis password out of plain inputs and outputs", async () => {
    const run = await runProgram({ ...platforms[platform], phase: "shutdown", services: counts });
    const drain = gateResource(run, "sidekiq-drain");
    // Under mocks a secret input arrives unwrapped only if it was marked secret.
    expect(JSON.stringify(run.outputs)).not.toContain(REDIS_PASSWORD);
    expect(drain.inputs.redisUrl).toBeDefined();
    expect(run.secretInputs("sidekiq-drain")).toContain("redisUrl");
  });

  it("running restores the configured counts in the exact reverse order", async () => {
    const run = await runProgram({ ...platforms[platform], phase: "running", services: counts });
    expect(executionOrder(run)).toEqual([...SEED_ORDER].reverse());
    const services = run.outputs.services as Array<{ name: string; targetCount: number }>;
    expect(services.map((s) => [s.name, s.targetCount])).toEqual(
      [...SEED_ORDER].reverse().map((key) => [key, counts[key]]),
    );
  });

  it("keepRunning leaves a service at its count, still in the chain", async () => {
    const run = await runProgram({
      ...platforms[platform],
      phase: "shutdown",
      services: counts,
      keepRunning: ["postgres"],
    });
    expect(executionOrder(run)).toEqual([...SEED_ORDER]);
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

describe("preview", () => {
  it("registers the whole plan, gates included, in order", async () => {
    const run = await runProgram(
      {
        ...platforms.ecs,
        phase: "shutdown",
        services: counts,
        keepRunning: ["postgres"],
        database: {
          url: "postgresql://tines:db-secret-91@old-db.internal:5432/tines",
          backup: { directory: "/var/backups/tines" },
          migration: { targetUrl: "postgresql://tines:db-secret-92@new-db.internal:5432/tines" },
        },
      },
      { preview: true },
    );
    expect(run.outputs.steps).toEqual(without(SHUTDOWN_STEPS, "endpoint-switch"));
    expect(executionOrder(run)).toEqual([...SEED_ORDER]);
    const backup = gateResource(run, "database-backup");
    const migration = gateResource(run, "database-migration");
    const commandRunner = serviceSteps(run, "tines-command-runner");
    const redis = serviceSteps(run, "redis");
    const pypi = serviceSteps(run, "pypi-server");
    expect(backup.start).toBeGreaterThan(Math.max(...commandRunner.map((r) => r.end)));
    expect(Math.min(...redis.map((r) => r.start))).toBeGreaterThan(backup.end);
    expect(migration.start).toBeGreaterThan(Math.max(...pypi.map((r) => r.end)));
    expect(run.secretInputs("database-migration")).toEqual(
      expect.arrayContaining(["sourceUrl", "targetUrl"]),
    );
    expect(JSON.stringify(run.outputs)).not.toMatch(/db-secret-9[12]/);
  });
});

describe("endpoints", () => {
  const endpoints = {
    databaseHost: "db-new.internal",
    redisUrl: `redis://:${REDIS_PASSWORD}@redis-new.internal:6379/1`,
  };

  it("shutdown writes the new endpoints only after every service step has finished", async () => {
    const run = await runProgram({ ...platforms.compose, phase: "shutdown", services: counts, endpoints });
    expect((run.outputs.steps as string[]).at(-1)).toBe("endpoint-switch");
    const endpointSwitch = gateResource(run, "endpoint-switch");
    expect(endpointSwitch.start).toBeGreaterThan(Math.max(...scalingResources(run).map((r) => r.end)));
    expect(JSON.stringify(run.outputs)).not.toContain(REDIS_PASSWORD);
  });

  it("a Redis move carries Sidekiq's jobs after the last writer is down, before the backup and Redis; its pre-check runs before the first stop", async () => {
    const run = await runProgram({
      ...platforms.compose,
      phase: "shutdown",
      services: counts,
      endpoints,
      database: {
        url: "postgresql://tines:db-secret-91@old-db.internal:5432/tines",
        backup: { directory: "/var/backups/tines" },
      },
    });
    const carry = gateResource(run, "sidekiq-carry");
    const commandRunner = serviceSteps(run, "tines-command-runner");
    const redis = serviceSteps(run, "redis");
    expect(carry.start).toBeGreaterThan(Math.max(...commandRunner.map((r) => r.end)));
    expect(gateResource(run, "database-backup").start).toBeGreaterThan(carry.end);
    expect(Math.min(...redis.map((r) => r.start))).toBeGreaterThan(carry.end);
    expect(carry.inputs).toMatchObject({ namespace: "", mode: "carry" });
    expect(run.secretInputs("sidekiq-carry")).toEqual(expect.arrayContaining(["fromUrl", "toUrl"]));
    // The pre-check, before the first stop, holds both URLs: the window's checks are a secret.
    const window = gateResource(run, "maintenance-window");
    expect(Math.min(...scalingResources(run).map((r) => r.start))).toBeGreaterThan(window.end);
    expect(run.secretInputs("maintenance-window")).toEqual(expect.arrayContaining(["settings", "checks"]));
    // The Sidekiq gates say the held jobs are carried at the switch.
    expect(gateResource(run, "sidekiq-drain").inputs.redisSwitch).toBe("carry");
    expect(gateResource(run, "sidekiq-preflight").inputs.redisSwitch).toBe("carry");
    expect(JSON.stringify(run.outputs)).not.toContain(REDIS_PASSWORD);
    expect(JSON.stringify(run.outputs)).not.toContain("redis-new.internal:6379/1");
  });

  it("without a Redis move, no carry, and the Sidekiq gates say the jobs stay", async () => {
    const run = await runProgram({
      ...platforms.compose,
      phase: "shutdown",
      services: counts,
      endpoints: { databaseHost: endpoints.databaseHost },
    });
    expect(run.outputs.steps).not.toContain("sidekiq-carry");
    expect(gateResource(run, "sidekiq-drain").inputs.redisSwitch).toBe("");
    expect(run.secretInputs("maintenance-window")).toEqual(["settings"]);
  });

  it("startup checks propagation after the recorded switch and before any service starts", async () => {
    const run = await runProgram({ ...platforms.compose, phase: "running", services: counts, endpoints });
    const record = gateResource(run, "endpoint-switch");
    const propagation = gateResource(run, "endpoint-propagation");
    expect(propagation.start).toBeGreaterThan(record.end);
    expect(Math.min(...scalingResources(run).map((r) => r.start))).toBeGreaterThan(propagation.end);
  });
});

describe("the maintenance window and the health gate", () => {
  const health = { url: "http://tines-app:3000/is_up", timeoutSeconds: 60, intervalSeconds: 2 };

  it("shutdown records the window after the pre-flight and before the first stop, with the URLs as secrets", async () => {
    const run = await runProgram({ ...platforms.ecs, phase: "shutdown", services: counts, health });
    const preflight = gateResource(run, "sidekiq-preflight");
    const window = gateResource(run, "maintenance-window");
    expect(window.start).toBeGreaterThan(preflight.end);
    expect(Math.min(...scalingResources(run).map((r) => r.start))).toBeGreaterThan(window.end);
    expect(run.secretInputs("maintenance-window")).toEqual(["settings"]);
    expect(run.outputs.steps).not.toContain("tines-health");
  });

  it("startup checks versions before anything and ends with the health gate", async () => {
    const run = await runProgram({ ...platforms.ecs, phase: "running", services: counts, health });
    const steps = run.outputs.steps as string[];
    expect(steps[0]).toBe("maintenance-window");
    expect(steps.at(-1)).toBe("tines-health");
    const window = gateResource(run, "maintenance-window");
    const healthGate = gateResource(run, "tines-health");
    const scaling = scalingResources(run);
    expect(Math.min(...scaling.map((r) => r.start))).toBeGreaterThan(window.end);
    expect(healthGate.start).toBeGreaterThan(Math.max(...scaling.map((r) => r.end)));
    expect(run.secretInputs("tines-health")).toContain("url");
  });
});

describe("program with bad config", () => {
  it.each([
    [
      { phase: "paused", platform: "ecs", services: { "tines-app": 1 } },
      "tines-maintenance:phase: must be one of",
    ],
    [
      { phase: "shutdown", platform: "ecs", services: { bogus: 1 } },
      "tines-maintenance:services.bogus: unknown service key",
    ],
    [
      { phase: "shutdown", platform: "ecs", services: { "tines-app": -2 } },
      "tines-maintenance:services.tines-app: must be a count (whole number >= 0) or {count, name?, kind?} (got -2)",
    ],
    [
      { phase: "shutdown", platform: "ecs", services: { "tines-app": 1 }, keepRunning: ["redis"] },
      '"redis" is not in services',
    ],
    [
      {
        phase: "shutdown",
        platform: "ecs",
        services: { "tines-app": 1, postgres: 1 },
        database: {
          url: "postgresql://u:p@h/db",
          backup: { enabled: false },
          migration: { targetUrl: "postgresql://u:p@n/db" },
        },
      },
      "tines-maintenance:database.migration:",
    ],
    [
      { phase: "shutdown", platform: "ecs", services: { "tines-sidekiq": 1 } },
      "tines-maintenance:sidekiq.redisUrl: required to stop tines-sidekiq",
    ],
    [
      {
        phase: "shutdown",
        platform: "ecs",
        services: { "tines-sidekiq": 1 },
        sidekiq: { redisUrl: "http://x" },
      },
      "tines-maintenance:sidekiq.redisUrl:",
    ],
  ])("registers nothing for %j", async (config, message) => {
    let registered = 0;
    const run = runProgram(config, { state: () => (registered++, {}) });
    await expect(run).rejects.toThrow(message);
    // Pulumi prints a RunError's message alone, without a stack trace.
    await expect(run).rejects.toBeInstanceOf(pulumi.RunError);
    expect(registered).toBe(0);
  });
});

describe("credentials set without --secret (issue 20, item 7)", () => {
  const base = { phase: "shutdown", platform: "ecs", services: { "tines-sidekiq": 1 } };
  it.each([
    ["sidekiq", { sidekiq: { redisUrl: "redis://:pw-1234@redis.internal:6379/0" } }, "sidekiq.redisUrl"],
    [
      "database",
      {
        sidekiq: { redisUrl: "redis://redis.internal:6379/0" },
        database: { url: "postgresql://tines:pw-1234@db.internal/tines", backup: { directory: "/b" } },
      },
      "database.url",
    ],
    [
      "health",
      {
        sidekiq: { redisUrl: "redis://redis.internal:6379/0" },
        health: { url: "https://ops:pw-1234@tines.internal/is_up" },
      },
      "health.url",
    ],
  ])("%s: refused in one line naming the key, nothing registered", async (plaintext, section, key) => {
    let registered = 0;
    const run = runProgram(
      { ...base, ...section },
      { state: () => (registered++, {}), plaintextKeys: [plaintext] },
    );
    await expect(run).rejects.toThrow(
      `tines-maintenance:${key}: holds a password but is not a secret; set it with \`pulumi config set --secret --path ${key} ...\``,
    );
    await expect(run).rejects.toBeInstanceOf(pulumi.RunError);
    await expect(run).rejects.not.toThrow("pw-1234");
    expect(registered).toBe(0);
    // Set as a secret, the same value is accepted.
    const secret = await runProgram({ ...base, ...section });
    expect(secret.registrations.length).toBeGreaterThan(0);
  });
});

describe("presync", () => {
  const database = {
    url: "postgresql://tines:db-secret-81@old-db.internal:5432/tines",
    backup: { enabled: false },
    migration: {
      targetUrl: "postgresql://tines:db-secret-82@new-db.internal:5432/tines",
      presync: true,
      catchUpTimeoutSeconds: 120,
    },
  };
  const presyncType = "pulumi-nodejs:dynamic/database:Presync";

  it("running sets the presync up first, before any service step, with the URLs as secrets", async () => {
    const run = await runProgram({ ...platforms.compose, phase: "running", services: counts, database });
    expect((run.outputs.steps as string[]).slice(0, 2)).toEqual(["maintenance-window", "database-presync"]);
    const presync = run.find(presyncType, "database-presync");
    expect(presync.inputs).toMatchObject({
      phase: "running",
      stack: expect.any(String),
      catchUpTimeoutSeconds: 120,
    });
    expect(run.secretInputs("database-presync")).toEqual(expect.arrayContaining(["sourceUrl", "targetUrl"]));
    expect(Math.min(...scalingResources(run).map((r) => r.start))).toBeGreaterThan(presync.end);
    expect(run.registrations.some((r) => r.name === "database-migration")).toBe(false);
    expect(JSON.stringify(run.outputs)).not.toMatch(/db-secret-8[12]/);
  });

  it("shutdown keeps the presync standing and cuts over at the migration step, after every stop and before the endpoint switch", async () => {
    const run = await runProgram({
      ...platforms.compose,
      phase: "shutdown",
      services: counts,
      keepRunning: ["postgres"],
      database,
      endpoints: { databaseHost: "new-db.internal" },
    });
    expect(run.outputs.steps).not.toContain("database-presync");
    const presync = run.find(presyncType, "database-presync");
    expect(presync.inputs.phase).toBe("shutdown");
    const cutover = run.find("pulumi-nodejs:dynamic/database:Cutover", "database-migration");
    expect(run.registrations.some((r) => r.type === "pulumi-nodejs:dynamic/database:Migration")).toBe(false);
    expect(cutover.inputs).toMatchObject({
      catchUpTimeoutSeconds: 120,
      allowNonEmptyTarget: false,
      trigger: "",
    });
    expect(run.secretInputs("database-migration")).toEqual(
      expect.arrayContaining(["sourceUrl", "targetUrl"]),
    );
    expect(cutover.start).toBeGreaterThan(presync.end);
    const others = scalingResources(run).filter((r) => r.name !== "postgres");
    expect(cutover.start).toBeGreaterThan(Math.max(...others.map((r) => r.end)));
    expect(gateResource(run, "endpoint-switch").start).toBeGreaterThan(cutover.end);
    expect(JSON.stringify(run.outputs)).not.toMatch(/db-secret-8[12]/);
  });
});
