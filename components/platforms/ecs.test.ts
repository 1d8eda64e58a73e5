import { describe, expect, it } from "vitest";
import type { ServiceStep } from "../../lib/plan/plan";
import { known, mockEngine, ServiceStepParent } from "../../testkit/mocks";
import { createEcsAdapter, ECS_POLL_SECONDS } from "./ecs";

// What the provider's create would report for a service that was at 3.
const registered = mockEngine({
  state: (r) =>
    r.type.endsWith("ServiceCount") ? { previousCount: 3, reachedCount: r.inputs.desiredCount } : undefined,
}).registrations;

const step: ServiceStep = {
  type: "service",
  name: "tines-sidekiq",
  workloadName: "tines-sidekiq-prod",
  configuredCount: 3,
  targetCount: 0,
  keptRunning: false,
};

describe("createEcsAdapter", () => {
  it("registers one ServiceCount named after the service key, under the step, with the workload name and target", async () => {
    const parent = new ServiceStepParent("tines-sidekiq");
    const adapter = createEcsAdapter({
      cluster: "tines-prod",
      region: "eu-west-1",
      endpoint: "http://127.0.0.1:4566",
    });
    const scaled = adapter.scaleService(step, { parent, phase: "shutdown", timeoutSeconds: 600 });

    expect(await known(scaled.reachedCount)).toBe(0);
    expect(await known(scaled.previousCount)).toBe(3);
    const urn = await known(scaled.resource.urn);
    expect(urn).toContain(
      "tines-maintenance:index:ServiceStep$pulumi-nodejs:dynamic/ecs:ServiceCount::tines-sidekiq",
    );
    const counts = registered.filter((r) => r.type === "pulumi-nodejs:dynamic/ecs:ServiceCount");
    expect(counts).toHaveLength(1);
    expect(counts[0].inputs).toMatchObject({
      cluster: "tines-prod",
      service: "tines-sidekiq-prod",
      desiredCount: 0,
      region: "eu-west-1",
      endpoint: "http://127.0.0.1:4566",
      timeoutSeconds: 600,
      pollSeconds: ECS_POLL_SECONDS,
    });
    expect(adapter.platform).toBe("ecs");
  });

  it("leaves region and endpoint to the SDK's defaults when not configured", async () => {
    const parent = new ServiceStepParent("tines-app");
    const scaled = createEcsAdapter({ cluster: "tines" }).scaleService(
      { ...step, name: "tines-app", workloadName: "tines-app", targetCount: 2 },
      { parent, phase: "running", timeoutSeconds: 900 },
    );
    // Registered once its URN is known: no guess at how long the SDK takes under load.
    await known(scaled.resource.urn);
    const inputs = registered.find((r) => r.name === "tines-app" && r.type.endsWith("ServiceCount"))?.inputs;
    expect(inputs).toMatchObject({ cluster: "tines", service: "tines-app", desiredCount: 2 });
    expect(inputs).not.toHaveProperty("region");
    expect(inputs).not.toHaveProperty("endpoint");
  });
});
