import { describe, expect, it } from "vitest";
import { buildPlan, formatPlan, serviceSteps } from "./plan";
import { parseStackConfig } from "../config/stackConfig";
import { SEED_ORDER, SHUTDOWN_STEPS, STARTUP_STEPS } from "../../testkit/runbook";

const allServices = Object.fromEntries(SEED_ORDER.map((key, i) => [key, i + 1]));
/** Every gate switched on: Sidekiq, a backup and a migration (Postgres kept up for it), new endpoints, health. */
const allGates = {
  keepRunning: ["postgres"],
  sidekiq: { redisUrl: "redis://:queue-pw@redis:6379" },
  database: {
    url: "postgresql://tines:db-pw@old-db/tines",
    backup: { directory: "/var/backups" },
    migration: { targetUrl: "postgresql://tines:new-pw@new-db/tines" },
  },
  endpoints: { databaseHost: "new-db", target: { kind: "secrets-manager", secretId: "tines/env" } },
  health: { url: "https://tines.example.com/is_up" },
};

function plan(raw: Record<string, unknown>) {
  return buildPlan(
    parseStackConfig({
      platform: "ecs",
      services: allServices,
      sidekiq: { redisUrl: "redis://redis:6379" },
      ...raw,
    }),
  );
}

const names = (raw: Record<string, unknown>) => plan(raw).steps.map((s) => s.name);

describe("buildPlan", () => {
  it("shutdown scales every service to 0 in the seed's order", () => {
    const steps = serviceSteps(plan({ phase: "shutdown" }));
    expect(steps.map((s) => s.name)).toEqual([...SEED_ORDER]);
    expect(steps.every((s) => s.targetCount === 0)).toBe(true);
    expect(steps.map((s) => s.configuredCount)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it("running restores the configured counts in the exact reverse order", () => {
    const steps = serviceSteps(plan({ phase: "running" }));
    expect(steps.map((s) => s.name)).toEqual([...SEED_ORDER].reverse());
    expect(steps.map((s) => s.targetCount)).toEqual([7, 6, 5, 4, 3, 2, 1]);
  });

  it("keepRunning keeps a service at its count during shutdown only", () => {
    const shutdown = serviceSteps(plan({ phase: "shutdown", keepRunning: ["postgres"] }));
    expect(shutdown.find((s) => s.name === "postgres")).toMatchObject({ targetCount: 6, keptRunning: true });
    expect(shutdown.filter((s) => s.name !== "postgres").every((s) => s.targetCount === 0)).toBe(true);
    const running = serviceSteps(plan({ phase: "running", keepRunning: ["postgres"] }));
    expect(running.find((s) => s.name === "postgres")).toMatchObject({ targetCount: 6, keptRunning: false });
  });

  it("touches only the listed services", () => {
    const steps = serviceSteps(plan({ phase: "shutdown", services: { "tines-sidekiq": 2, "tines-app": 1 } }));
    expect(steps.map((s) => s.name)).toEqual(["tines-app", "tines-sidekiq"]);
  });

  it("places the gates: preflight first, the window at the first stop, drain right before sidekiq, backup before the data stores", () => {
    expect(names({ phase: "shutdown", ...allGates })).toEqual(SHUTDOWN_STEPS);
  });

  it("records the window before the drain gate when tines-sidekiq is the first service to stop", () => {
    expect(names({ phase: "shutdown", services: { "tines-sidekiq": 2, postgres: 1 } })).toEqual([
      "sidekiq-preflight",
      "maintenance-window",
      "sidekiq-drain",
      "tines-sidekiq",
      "postgres",
    ]);
  });

  it("startup checks the window and the endpoints before anything starts, and ends with Tines healthy", () => {
    const running = plan({ phase: "running", ...allGates });
    expect(running.steps.map((s) => s.name)).toEqual(STARTUP_STEPS);
    expect(running.steps[0].type === "gate" && running.steps[0].description).toMatch(/version changed/);
  });

  it("with presync, checks for a slot left by the window before anything starts; the shutdown has no step of it", () => {
    const presync = {
      ...allGates.database,
      migration: { ...allGates.database.migration, presync: true },
      backup: { enabled: false },
    };
    const running = plan({ phase: "running", ...allGates, database: presync });
    expect(running.steps.map((s) => s.name)).toEqual([
      "maintenance-window",
      "database-presync",
      ...STARTUP_STEPS.slice(1),
    ]);
    expect(names({ phase: "running", ...allGates })).not.toContain("database-presync");
    const shutdown = names({ phase: "shutdown", ...allGates, database: presync });
    expect(shutdown).not.toContain("database-presync");
    expect(shutdown).toContain("database-migration");
  });

  it("has no drain gate when Sidekiq keeps running or is not managed", () => {
    expect(names({ phase: "shutdown", keepRunning: ["tines-sidekiq"] })).not.toContain("sidekiq-drain");
    expect(names({ phase: "shutdown", services: { "tines-app": 1 } })).not.toContain("sidekiq-drain");
  });

  it("carries Sidekiq's data at a Redis move once the command runner is down, before the backup and Redis", () => {
    const moving = {
      ...allGates,
      endpoints: { ...allGates.endpoints, redisUrl: "redis://:new-pw@new-redis:6379" },
    };
    expect(names({ phase: "shutdown", ...moving })).toEqual([
      ...SHUTDOWN_STEPS.slice(0, SHUTDOWN_STEPS.indexOf("tines-command-runner") + 1),
      "sidekiq-carry",
      ...SHUTDOWN_STEPS.slice(SHUTDOWN_STEPS.indexOf("database-backup")),
    ]);
    // Without the command runner listed, it still follows tines-sidekiq.
    expect(
      names({ phase: "shutdown", ...moving, services: { "tines-sidekiq": 2, redis: 1, postgres: 1 } }),
    ).toEqual([
      "sidekiq-preflight",
      "maintenance-window",
      "sidekiq-drain",
      "tines-sidekiq",
      "sidekiq-carry",
      "database-backup",
      "redis",
      "postgres",
      "database-migration",
      "endpoint-switch",
    ]);
    const carry = plan({ phase: "shutdown", ...moving }).steps.find((s) => s.name === "sidekiq-carry");
    expect(carry).toMatchObject({
      newRedisUrl: "redis://:new-pw@new-redis:6379",
      sidekiq: { onRedisSwitch: "carry" },
    });
  });

  it("tells the Sidekiq gates what becomes of held jobs: sidekiq.onRedisSwitch when Redis moves, else nothing", () => {
    const switchOf = (raw: Record<string, unknown>) =>
      plan({ phase: "shutdown", ...raw })
        .steps.filter((s) => s.name === "sidekiq-drain" || s.name === "sidekiq-preflight")
        .map((s) => (s as { redisSwitch?: string }).redisSwitch);
    const endpoints = {
      redisUrl: "redis://new-redis:6379",
      target: { kind: "secrets-manager", secretId: "t" },
    };
    expect(switchOf({ endpoints })).toEqual(["carry", "carry"]);
    expect(
      switchOf({ endpoints, sidekiq: { redisUrl: "redis://redis:6379", onRedisSwitch: "discard" } }),
    ).toEqual(["discard", "discard"]);
    expect(switchOf({})).toEqual(["", ""]);
    expect(switchOf({ endpoints: { ...endpoints, redisUrl: undefined, databaseHost: "db" } })).toEqual([
      "",
      "",
    ]);
  });

  it("has no carry without a Redis move, or when Sidekiq keeps running", () => {
    const endpoints = {
      redisUrl: "redis://new-redis:6379",
      target: { kind: "secrets-manager", secretId: "t" },
    };
    expect(names({ phase: "shutdown", ...allGates })).not.toContain("sidekiq-carry");
    expect(names({ phase: "shutdown", endpoints, keepRunning: ["tines-sidekiq"] })).not.toContain(
      "sidekiq-carry",
    );
    expect(names({ phase: "running", endpoints })).not.toContain("sidekiq-carry");
    expect(names({ phase: "shutdown", endpoints })).toContain("sidekiq-carry");
  });

  it("backs up only in shutdown and while the backup is enabled; migrates only in shutdown", () => {
    const database = { url: "postgresql://tines:pw@old-db/tines", backup: { directory: "/b" } };
    expect(names({ phase: "shutdown", database })).toContain("database-backup");
    expect(names({ phase: "running", database })).not.toContain("database-backup");
    const off = { ...database, backup: { enabled: false } };
    expect(names({ phase: "shutdown", database: off })).not.toContain("database-backup");
    expect(names({ phase: "running", ...allGates })).not.toContain("database-migration");
    expect(
      names({
        phase: "shutdown",
        ...allGates,
        database: { ...allGates.database, backup: { enabled: false } },
      }),
    ).toEqual(expect.arrayContaining(["database-migration"]));
  });

  it("uses Tines' workload names and kinds per platform, with overrides", () => {
    const compose = serviceSteps(
      buildPlan(
        parseStackConfig({
          phase: "shutdown",
          platform: "compose",
          compose: { projectName: "tines", projectDirectory: "/srv/tines" },
          services: { nginx: 1, "tines-app": { count: 1, name: "web" } },
        }),
      ),
    );
    expect(compose.map((s) => s.workloadName)).toEqual(["tines-nginx", "web"]);
    expect(compose[0].workloadKind).toBeUndefined();
    const k8s = serviceSteps(
      buildPlan(
        parseStackConfig({
          phase: "running",
          platform: "kubernetes",
          services: { postgres: 1, "tines-app": 2 },
        }),
      ),
    );
    expect(k8s.map((s) => s.workloadKind)).toEqual(["StatefulSet", "Deployment"]);
  });

  it("formats one line a step", () => {
    const text = formatPlan(plan({ phase: "shutdown", ...allGates }));
    expect(text.split("\n")).toHaveLength(14);
    expect(text).toContain("service postgres [postgres]: kept running at 6 (keepRunning)");
    expect(text).toContain("service tines-app [tines-app]: scale to 0 (restored to 2 at startup)");
    expect(text).toContain("gate    sidekiq-drain:");
  });
});
