import { describe, expect, it } from "vitest";
import { SCALE_DOWN_ORDER } from "../lib/services";
import {
  MAINTENANCE_RUN_TYPE,
  checkEndpointChangeOnlyInShutdown,
  checkNoAppWithoutDataStores,
  checkStepOrder,
  scaleTarget,
  stackPhase,
} from "./rules";
import { SCALING, named, resource, stack, type StackOptions } from "./testStacks";

describe("scaleTarget", () => {
  it("reads the count where each platform keeps it", () => {
    expect(scaleTarget({ targetCount: 3 })).toBe(3);
    expect(scaleTarget({ desiredCount: 0 })).toBe(0);
    expect(scaleTarget({ spec: { replicas: 2 } })).toBe(2);
    expect(scaleTarget({ replicas: 1 })).toBe(1);
  });
  it("ignores anything that is not a whole count", () => {
    expect(scaleTarget({})).toBeUndefined();
    expect(scaleTarget({ targetCount: "3", spec: "x" })).toBeUndefined();
    expect(scaleTarget({ desiredCount: -1 })).toBeUndefined();
    expect(scaleTarget({ spec: { replicas: 1.5 } })).toBeUndefined();
  });
});

describe("stackPhase", () => {
  it("reads the phase from the MaintenanceRun, and nothing else", () => {
    expect(stackPhase(stack({ phase: "running" }))).toBe("running");
    expect(stackPhase(stack({ withoutRun: true }))).toBeUndefined();
    expect(stackPhase([resource(MAINTENANCE_RUN_TYPE, "maintenance", { phase: "paused" })])).toBeUndefined();
  });
});

describe.each(Object.keys(SCALING))("stacks the program builds on %s pass every rule", (platform) => {
  const cases: StackOptions[] = [
    { phase: "shutdown" },
    { phase: "shutdown", keepRunning: ["postgres"], gatesBefore: { "tines-sidekiq": ["sidekiq-drain"] } },
    {
      phase: "shutdown",
      gatesBefore: { redis: ["database-backup"] },
      gatesAfter: ["database-migration", "endpoint-switch"],
    },
    { phase: "running", gatesBefore: { "pypi-server": ["endpoint-propagation"] } },
    { phase: "running", counts: Object.fromEntries(SCALE_DOWN_ORDER.map((k) => [k, 1])) },
  ];
  for (const options of cases) {
    it(JSON.stringify(options), () => {
      const resources = stack({ ...options, platform: platform as keyof typeof SCALING });
      expect(checkNoAppWithoutDataStores(resources)).toEqual([]);
      expect(checkEndpointChangeOnlyInShutdown(resources)).toEqual([]);
      expect(checkStepOrder(resources)).toEqual([]);
    });
  }
});

describe("(a) no tines-app or tines-sidekiq up while Postgres or Redis is at zero", () => {
  it.each(Object.keys(SCALING))("flags the app on %s when a data store is scaled to 0", (platform) => {
    // A hand-edited stack: shutdown with the app tier kept running but Redis stopped.
    const resources = stack({
      platform: platform as keyof typeof SCALING,
      keepRunning: ["tines-app", "postgres"],
    });
    const violations = checkNoAppWithoutDataStores(resources);
    expect(violations).toHaveLength(1);
    expect(violations[0].message).toMatch(
      /^tines-app is scaled to 3 while redis is scaled to 0; stop tines-app first/,
    );
    expect(violations[0].urn).toBe(named(resources, "tines-app").urn);
  });

  it("names both stores and both services", () => {
    const resources = stack({
      phase: "running",
      counts: { "tines-app": 2, "tines-sidekiq": 1, redis: 0, postgres: 0 },
    });
    const messages = checkNoAppWithoutDataStores(resources).map((v) => v.message);
    expect(messages).toEqual([
      expect.stringMatching(/^tines-app is scaled to 2 while postgres and redis are scaled to 0/),
      expect.stringMatching(/^tines-sidekiq is scaled to 1 while postgres and redis are scaled to 0/),
    ]);
  });

  it("leaves stacks alone that do not manage the data stores (managed RDS / ElastiCache)", () => {
    expect(
      checkNoAppWithoutDataStores(
        stack({ phase: "running", counts: { "tines-app": 2, "tines-sidekiq": 1 } }),
      ),
    ).toEqual([]);
  });
});

describe("(b) endpoints change only in shutdown, after every service step", () => {
  it("flags an endpoint-switch in phase running", () => {
    const resources = stack({ phase: "running", gatesAfter: ["endpoint-switch"] });
    const violations = checkEndpointChangeOnlyInShutdown(resources);
    expect(violations).toEqual([
      {
        urn: named(resources, "endpoint-switch", "tines-maintenance:index:Gate").urn,
        message: expect.stringMatching(
          /^endpoint-switch changes DATABASE_HOST \/ REDIS_URL while the phase is running;/,
        ),
      },
    ]);
  });

  it("flags an endpoint-switch when the phase is not stated", () => {
    const violations = checkEndpointChangeOnlyInShutdown(
      stack({ withoutRun: true, gatesAfter: ["endpoint-switch"] }),
    );
    expect(violations.map((v) => v.message)).toEqual([
      expect.stringMatching(/while the phase is not stated/),
    ]);
  });

  it("flags an endpoint-switch that does not wait for the last service step", () => {
    const resources = stack({ phase: "shutdown", gatesAfter: ["endpoint-switch"] });
    named(resources, "endpoint-switch", "tines-maintenance:index:Gate").dependencies = [
      named(resources, "redis"),
    ];
    expect(checkEndpointChangeOnlyInShutdown(resources).map((v) => v.message)).toEqual([
      "endpoint-switch does not wait for postgres; endpoints may change only after every service step has finished",
    ]);
  });
});

describe("(c) each step depends on the one before, in the phase's order", () => {
  it("flags a missing edge and names both services", () => {
    const resources = stack({ phase: "shutdown" });
    named(resources, "tines-sidekiq").dependencies = [];
    const violations = checkStepOrder(resources);
    expect(violations).toEqual([
      {
        urn: named(resources, "tines-sidekiq").urn,
        message:
          "tines-sidekiq does not wait for tines-app; in shutdown each step must depend on the one before " +
          "(order: nginx -> tines-app -> tines-sidekiq -> redis -> postgres)",
      },
    ]);
  });

  it("flags a stack ordered for shutdown while the phase says running", () => {
    const resources = stack({ phase: "shutdown" });
    resources[0].props = { phase: "running", platform: "ecs" };
    const messages = checkStepOrder(resources).map((v) => v.message);
    expect(messages.length).toBe(4);
    expect(messages[0]).toMatch(/^redis does not wait for postgres; in running/);
  });

  it("follows the chain through gates, and not through unrelated edges", () => {
    const resources = stack({ phase: "shutdown", gatesBefore: { "tines-sidekiq": ["sidekiq-drain"] } });
    expect(checkStepOrder(resources)).toEqual([]);
    const drain = named(resources, "sidekiq-drain", "tines-maintenance:index:Gate");
    drain.dependencies = [resources[0]];
    expect(checkStepOrder(resources).map((v) => v.message)).toEqual([
      expect.stringMatching(/^tines-sidekiq does not wait for tines-app;/),
    ]);
  });

  it("refuses to judge the order without a MaintenanceRun stating the phase", () => {
    expect(checkStepOrder(stack({ withoutRun: true }))).toEqual([
      {
        message: expect.stringMatching(
          /^no tines-maintenance:index:MaintenanceRun named "maintenance" states the phase/,
        ),
      },
    ]);
  });
});
