import { describe, expect, it } from "vitest";
import { parseStackConfig } from "./stackConfig";
import { rawConfigFromPulumi } from "./core";
import { configErrorOf } from "../../testkit/configErrors";

const base = { phase: "running", platform: "ecs", services: { "tines-app": 2 } };

const errorOf = (raw: Record<string, unknown>) => configErrorOf(() => parseStackConfig(raw));

describe("parseStackConfig", () => {
  it("accepts counts and {count, name, kind}, in scale-down order, with defaults", () => {
    const config = parseStackConfig({
      phase: "shutdown",
      platform: "kubernetes",
      services: {
        postgres: { count: 1, kind: "StatefulSet" },
        "tines-app": { count: 3, name: "tines-web" },
        nginx: 2,
      },
      keepRunning: ["postgres"],
    });
    expect(config.services).toEqual([
      { key: "nginx", count: 2 },
      { key: "tines-app", count: 3, name: "tines-web" },
      { key: "postgres", count: 1, kind: "StatefulSet" },
    ]);
    expect(config.keepRunning).toEqual(["postgres"]);
    expect(config.kubernetes.namespace).toBe("tines");
    expect(config.ecs.cluster).toBe("tines");
    expect(config.stepTimeoutSeconds).toBe(900);
  });

  it.each([
    [
      { ...base, phase: "paused" },
      'tines-maintenance:phase: must be one of: running, shutdown (got "paused")',
    ],
    [{ ...base, phase: undefined }, "tines-maintenance:phase: required; allowed: running, shutdown"],
    [
      { ...base, platform: "nomad" },
      'tines-maintenance:platform: must be one of: ecs, kubernetes, compose (got "nomad")',
    ],
    [
      { ...base, services: { "tines-ap": 1 } },
      "tines-maintenance:services.tines-ap: unknown service key; allowed: nginx, tines-app, tines-sidekiq, tines-command-runner, redis, postgres, pypi-server",
    ],
    // The key as the operator set it, never a `.count` they did not write (issue 20, item 9).
    [
      { ...base, services: { "tines-app": -1 } },
      "tines-maintenance:services.tines-app: must be a count (whole number >= 0) or {count, name?, kind?} (got -1)",
    ],
    [
      { ...base, services: { "tines-app": 1.5 } },
      "tines-maintenance:services.tines-app: must be a count (whole number >= 0) or {count, name?, kind?} (got 1.5)",
    ],
    [
      { ...base, services: { "tines-app": { count: -1 } } },
      "tines-maintenance:services.tines-app.count: must be a whole number >= 0",
    ],
    [
      { ...base, services: { "tines-app": "2" } },
      'tines-maintenance:services.tines-app: must be a count (whole number >= 0) or {count, name?, kind?} (got "2")',
    ],
    [
      { ...base, services: { "tines-app": { count: 1, replicas: 2 } } },
      "tines-maintenance:services.tines-app.replicas: unknown key; allowed: count, name, kind",
    ],
    [{ ...base, services: {} }, "tines-maintenance:services: must list at least one service"],
    [
      { ...base, keepRunning: ["postgres"] },
      'tines-maintenance:keepRunning.0: "postgres" is not in services; allowed: tines-app',
    ],
    [{ ...base, keepRunning: ["db"] }, 'tines-maintenance:keepRunning.0: unknown service key "db"'],
    [{ ...base, colour: "red" }, "tines-maintenance:colour: unknown key; allowed: phase, platform, services"],
    [
      { ...base, ecs: { clster: "x" } },
      "tines-maintenance:ecs.clster: unknown key; allowed: cluster, region, endpoint",
    ],
    [{ ...base, "ecs.cluster": "x" }, "`pulumi config set --path ecs.cluster ...`"],
    [
      { ...base, services: { "tines-app": { count: 1, kind: "StatefulSet" } } },
      "tines-maintenance:services.tines-app.kind: applies only to platform kubernetes (platform is ecs)",
    ],
    [
      { ...base, platform: "kubernetes", services: { "tines-app": { count: 1, kind: "Pod" } } },
      "tines-maintenance:services.tines-app.kind: must be one of: Deployment, StatefulSet",
    ],
    [
      { ...base, platform: "compose" },
      "tines-maintenance:compose.projectName: required when platform is compose",
    ],
    [
      { ...base, stepTimeoutSeconds: 5 },
      "tines-maintenance:stepTimeoutSeconds: must be a whole number of seconds >= 30",
    ],
  ])("rejects %j", (raw, expected) => {
    expect(errorOf(raw as Record<string, unknown>)).toContain(expected);
  });

  it("reports every problem in one message", () => {
    const message = errorOf({ phase: "x", platform: "y", services: { foo: 1 } });
    expect(message).toContain("tines-maintenance:phase:");
    expect(message).toContain("tines-maintenance:platform:");
    expect(message).not.toContain("\n");
  });
});

describe("rawConfigFromPulumi", () => {
  it("keeps this project's keys, parsing structured values", () => {
    expect(
      rawConfigFromPulumi({
        "tines-maintenance:phase": "shutdown",
        "tines-maintenance:services": '{"tines-app":2}',
        "tines-maintenance:keepRunning": '["postgres"]',
        "aws:region": "eu-west-1",
      }),
    ).toEqual({ phase: "shutdown", services: { "tines-app": 2 }, keepRunning: ["postgres"] });
  });
});
