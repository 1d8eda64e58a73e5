import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../config/stackConfig";
import { buildPlan } from "../plan/plan";
import { configErrorOf } from "../../testkit/configErrors";

const gate = (plan: ReturnType<typeof buildPlan>, name: string) => plan.steps.find((s) => s.name === name);

const base = { phase: "running", platform: "ecs", services: { "tines-app": 2 } };

const message = (raw: Record<string, unknown>) => configErrorOf(() => parseStackConfig(raw));

describe("health and versionGuard config", () => {
  it("defaults: no health gate, the version guard on without override", () => {
    const config = parseStackConfig(base);
    expect(config.health).toBeUndefined();
    expect(config.versionGuard).toEqual({ allowChange: false });
    expect(gate(buildPlan(config), "maintenance-window")).toMatchObject({ allowVersionChange: false });
    expect(gate(buildPlan(config), "tines-health")).toBeUndefined();
  });

  it("fills in the health gate's defaults", () => {
    const config = parseStackConfig({ ...base, health: { url: "https://tines.example.com/is_up" } });
    expect(config.health).toEqual({
      url: "https://tines.example.com/is_up",
      timeoutSeconds: 900,
      intervalSeconds: 5,
    });
    expect(gate(buildPlan(config), "tines-health")).toMatchObject({ health: config.health });
  });

  it.each([
    [{ url: "ftp://tines/is_up" }, "tines-maintenance:health.url: must be an http:// or https:// URL"],
    [{}, "tines-maintenance:health.url: required; must be an http:// or https:// URL"],
    [
      { url: "http://t/is_up", timeoutSeconds: 5 },
      "tines-maintenance:health.timeoutSeconds: must be a whole number of seconds from 10 to 86400",
    ],
    [
      { url: "http://t/is_up", intervalSeconds: 0.5 },
      "tines-maintenance:health.intervalSeconds: must be a whole number of seconds from 1 to 300",
    ],
    [
      { url: "http://t/is_up", timeoutSeconds: 10, intervalSeconds: 10 },
      "tines-maintenance:health.intervalSeconds: must be less than health.timeoutSeconds (10)",
    ],
    [
      { url: "http://t/is_up", path: "/x" },
      "tines-maintenance:health.path: unknown key; allowed: url, timeoutSeconds, intervalSeconds",
    ],
  ])("refuses health %j in one line naming the key", (health, expected) => {
    const text = message({ ...base, health });
    expect(text).toContain(expected);
    expect(text).not.toContain("\n");
  });

  it("refuses a versionGuard that is not a boolean, naming the allowed values", () => {
    expect(message({ ...base, versionGuard: { allowChange: "yes" } })).toBe(
      "tines-maintenance:versionGuard.allowChange: must be true or false",
    );
    expect(message({ ...base, versionGuard: { allow: true } })).toBe(
      "tines-maintenance:versionGuard.allow: unknown key; allowed: allowChange",
    );
  });
});
