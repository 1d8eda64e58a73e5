import { describe, expect, it } from "vitest";
import { buildPlan, formatPlan, serviceSteps, type PlanGates } from "./plan";
import { parseStackConfig } from "../config/stackConfig";
import { SCALE_DOWN_ORDER } from "./services";

const allServices = Object.fromEntries(SCALE_DOWN_ORDER.map((key, i) => [key, i + 1]));
const sections = parseStackConfig({
  phase: "shutdown",
  platform: "compose",
  compose: { projectName: "tines", projectDirectory: "/srv/tines" },
  services: { postgres: 1 },
  keepRunning: ["postgres"],
  sidekiq: { redisUrl: "redis://:queue-pw@redis:6379" },
  database: {
    url: "postgresql://tines:db-pw@old-db/tines",
    backup: { directory: "/var/backups" },
    migration: { targetUrl: "postgresql://tines:new-pw@new-db/tines" },
  },
  endpoints: { databaseHost: "new-db" },
});
const allGates: PlanGates = {
  sidekiq: sections.sidekiq,
  databaseBackup: sections.database,
  databaseMigration: { ...sections.database!, migration: sections.database!.migration! },
  endpoints: sections.endpoints,
};

function plan(raw: Record<string, unknown>, gates?: PlanGates) {
  return buildPlan(
    parseStackConfig({
      platform: "ecs",
      services: allServices,
      sidekiq: { redisUrl: "redis://redis:6379" },
      ...raw,
    }),
    gates,
  );
}

describe("buildPlan", () => {
  it("shutdown scales every service to 0 in the seed's order", () => {
    const steps = serviceSteps(plan({ phase: "shutdown" }));
    expect(steps.map((s) => s.name)).toEqual([...SCALE_DOWN_ORDER]);
    expect(steps.every((s) => s.targetCount === 0)).toBe(true);
    expect(steps.map((s) => s.configuredCount)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it("running restores the configured counts in the exact reverse order", () => {
    const steps = serviceSteps(plan({ phase: "running" }));
    expect(steps.map((s) => s.name)).toEqual([...SCALE_DOWN_ORDER].reverse());
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

  it("places the gates: preflight first, drain right before sidekiq, backup before the data stores", () => {
    const names = plan({ phase: "shutdown" }, allGates).steps.map((s) => s.name);
    expect(names).toEqual([
      "sidekiq-preflight",
      "nginx",
      "tines-app",
      "sidekiq-drain",
      "tines-sidekiq",
      "tines-command-runner",
      "database-backup",
      "redis",
      "postgres",
      "pypi-server",
      "database-migration",
      "endpoint-switch",
    ]);
  });

  it("startup checks the endpoints before anything starts, and never drains", () => {
    const names = plan({ phase: "running" }, allGates).steps.map((s) => s.name);
    expect(names[0]).toBe("endpoint-propagation");
    expect(names).not.toContain("sidekiq-drain");
    expect(names).not.toContain("database-backup");
  });

  it("has no drain gate when Sidekiq keeps running or is not managed", () => {
    expect(
      plan({ phase: "shutdown", keepRunning: ["tines-sidekiq"] }, allGates).steps.map((s) => s.name),
    ).not.toContain("sidekiq-drain");
    expect(
      plan({ phase: "shutdown", services: { "tines-app": 1 } }, allGates).steps.map((s) => s.name),
    ).not.toContain("sidekiq-drain");
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
    const text = formatPlan(plan({ phase: "shutdown", keepRunning: ["postgres"] }, allGates));
    expect(text.split("\n")).toHaveLength(13);
    expect(text).toContain("service postgres [postgres]: kept running at 6 (keepRunning)");
    expect(text).toContain("service tines-app [tines-app]: scale to 0 (restored to 2 at startup)");
    expect(text).toContain("gate    sidekiq-drain:");
  });
});
