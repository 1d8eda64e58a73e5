import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { SIDEKIQ_DEFAULTS } from "../../lib/sidekiq/config";
import { known, mockEngine } from "../../testkit/mocks";
import { SidekiqDrain, drainGateInputs } from "./sidekiqDrain";
import { SidekiqPreflight, preflightInputs } from "./sidekiqPreflight";

// Preview: the engine calls only check/diff there, never create, so nothing reads Redis.
const engine = mockEngine({ preview: true });

const settings = {
  intervalSeconds: SIDEKIQ_DEFAULTS.intervalSeconds,
  windowSeconds: SIDEKIQ_DEFAULTS.windowSeconds,
  settleSeconds: SIDEKIQ_DEFAULTS.settleSeconds,
  maxSize: SIDEKIQ_DEFAULTS.maxSize,
  maxBusy: SIDEKIQ_DEFAULTS.maxBusy,
  timeoutSeconds: SIDEKIQ_DEFAULTS.timeoutSeconds,
};

describe("SidekiqDrain and SidekiqPreflight", () => {
  it("register one component and one dynamic child of the same name under it", async () => {
    const url = "redis://:p4ssw0rd@127.0.0.1:1/1";
    const gate = new SidekiqDrain("sidekiq-drain", { redisUrl: url, settings, runId: "run-1" });
    const preflight = new SidekiqPreflight("sidekiq-preflight", {
      redisUrl: url,
      mode: "refuse",
      preflightSeconds: 10,
      intervalSeconds: 5,
      windowSeconds: 120,
      maxSize: 0,
      runId: "run-1",
    });
    expect(await known(gate.resource.urn)).toMatch(
      /tines-maintenance:index:SidekiqDrainGate\$pulumi-nodejs:dynamic\/sidekiq:DrainGate::sidekiq-drain$/,
    );
    expect(await known(preflight.resource.urn)).toMatch(
      /tines-maintenance:index:SidekiqPreflight\$pulumi-nodejs:dynamic\/sidekiq:Preflight::sidekiq-preflight$/,
    );
    expect(engine.registrations.map((r) => `${r.type}::${r.name}`).sort()).toEqual([
      "pulumi-nodejs:dynamic/sidekiq:DrainGate::sidekiq-drain",
      "pulumi-nodejs:dynamic/sidekiq:Preflight::sidekiq-preflight",
      "tines-maintenance:index:SidekiqDrainGate::sidekiq-drain",
      "tines-maintenance:index:SidekiqPreflight::sidekiq-preflight",
    ]);
  });

  it("pass the settings, and the Redis URL as a secret whatever the caller passes", async () => {
    const url = "redis://:p4ssw0rd@127.0.0.1:1/1";
    const drain = drainGateInputs({ redisUrl: url, namespace: "tines", settings, runId: "run-7" });
    expect(await pulumi.isSecret(drain.redisUrl)).toBe(true);
    expect(await known(drain.redisUrl)).toBe(url);
    expect({ ...drain, redisUrl: "" }).toEqual({
      ...settings,
      namespace: "tines",
      trigger: "run-7",
      redisSwitch: "",
      redisUrl: "",
    });
    const moving = drainGateInputs({ redisUrl: url, settings, runId: "run-7", redisSwitch: "discard" });
    expect(moving.redisSwitch).toBe("discard");
    const pre = preflightInputs({
      redisUrl: pulumi.output(url),
      mode: "warn",
      preflightSeconds: 10,
      intervalSeconds: 5,
      windowSeconds: 120,
      maxSize: 0,
      runId: "run-8",
    });
    expect(await pulumi.isSecret(pre.redisUrl)).toBe(true);
    // The run id is the provider's re-run key: each update runs the gate again.
    expect(pre).not.toHaveProperty("runId");
    expect(pre).toMatchObject({
      namespace: "",
      trigger: "run-8",
      mode: "warn",
      preflightSeconds: 10,
      maxSize: 0,
    });
  });
});
