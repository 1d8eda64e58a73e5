import { describe, expect, it } from "vitest";
import { GateError } from "../errors";
import { buildPlan } from "../plan/plan";
import type { CoreConfig } from "../config/core";
import { appliedFrom, assertSwitchAllowed, endpointChanges, sha256, switchRefusal } from "./guard";
import { redisHost } from "./config";

function core(overrides: Partial<CoreConfig>): CoreConfig {
  return {
    phase: "shutdown",
    platform: "compose",
    services: [
      { key: "tines-app", count: 2 },
      { key: "tines-sidekiq", count: 2 },
      { key: "postgres", count: 1 },
    ],
    keepRunning: [],
    stepTimeoutSeconds: 900,
    ecs: { cluster: "tines" },
    kubernetes: { namespace: "tines" },
    compose: { projectName: "tines", projectDirectory: "/srv/tines" },
    ...overrides,
  };
}
const applied = appliedFrom({ databaseHost: "old-db", redisUrl: "redis://:pw@old-redis:6379/1" }, redisHost);

describe("endpoint guard", () => {
  it("allows a change in shutdown with the application tier at 0, even with Postgres kept for a migration", () => {
    expect(switchRefusal(buildPlan(core({})))).toBeUndefined();
    expect(switchRefusal(buildPlan(core({ keepRunning: ["postgres"] })))).toBeUndefined();
  });

  it("refuses in running phase and when an application service is kept running", () => {
    expect(switchRefusal(buildPlan(core({ phase: "running" })))).toMatch(/phase is running/);
    expect(switchRefusal(buildPlan(core({ keepRunning: ["tines-sidekiq"] })))).toMatch(
      /tines-sidekiq would stay up/,
    );
  });

  it("detects a change relative to what was applied, never storing REDIS_URL in clear", () => {
    expect(applied).toEqual({
      databaseHost: "old-db",
      redisHost: "old-redis",
      redisUrlSha256: sha256("redis://:pw@old-redis:6379/1"),
    });
    expect(JSON.stringify(applied)).not.toContain("pw");
    expect(
      endpointChanges(applied, { databaseHost: "old-db", redisUrl: "redis://:pw@old-redis:6379/1" }),
    ).toEqual([]);
    expect(
      endpointChanges(applied, { databaseHost: "new-db", redisUrl: "redis://:pw2@old-redis:6379/1" }),
    ).toEqual(["databaseHost", "redisUrl"]);
    expect(endpointChanges(undefined, { databaseHost: "new-db" })).toEqual([]);
  });

  it("throws one line naming the keys, the reason and what to do; unchanged endpoints pass in any phase", () => {
    const running = switchRefusal(buildPlan(core({ phase: "running" })));
    expect(() => assertSwitchAllowed(applied, { databaseHost: "old-db" }, running)).not.toThrow();
    let error: unknown;
    try {
      assertSwitchAllowed(applied, { databaseHost: "new-db" }, running);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GateError);
    expect((error as Error).message).toBe(
      "endpoint-switch: refused to change endpoints.databaseHost: phase is running; endpoints may change only with phase shutdown. " +
        "Set phase shutdown and run pulumi up first (all services down), then change endpoints; nothing was changed",
    );
  });

  it("refuses when the platform still reports an application service up", () => {
    expect(() =>
      assertSwitchAllowed(applied, { databaseHost: "new-db" }, undefined, {
        "tines-app": 0,
        "tines-sidekiq": 1,
      }),
    ).toThrow(/still up: tines-sidekiq \(1 running\)/);
    expect(() =>
      assertSwitchAllowed(applied, { databaseHost: "new-db" }, undefined, { "tines-app": 0 }),
    ).not.toThrow();
  });
});
