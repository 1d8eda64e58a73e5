import { describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import type { ServiceStep } from "../../lib/plan/plan";
import { createEcsAdapter, ECS_POLL_SECONDS } from "./ecs";

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  parent?: string;
}

const registered: Registered[] = [];
const preview = false;
{
  pulumi.runtime.setMocks(
    {
      newResource: async (args) => {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        // What the provider's create would report for a service that was at 3.
        const state = args.type.endsWith("ServiceCount")
          ? { ...args.inputs, previousCount: 3, reachedCount: args.inputs.desiredCount }
          : args.inputs;
        return { id: preview ? undefined : `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    },
    "tines-maintenance",
    "test",
    preview,
  );
}

const step: ServiceStep = {
  type: "service",
  name: "tines-sidekiq",
  workloadName: "tines-sidekiq-prod",
  configuredCount: 3,
  targetCount: 0,
  keptRunning: false,
};

const value = <T>(output: pulumi.Output<T>) => new Promise<T>((resolve) => output.apply(resolve));

class Parent extends pulumi.ComponentResource {
  constructor(name: string) {
    super("tines-maintenance:index:ServiceStep", name, {});
    this.registerOutputs({});
  }
}

describe("createEcsAdapter", () => {
  it("registers one ServiceCount named after the service key, under the step, with the workload name and target", async () => {
    const parent = new Parent("tines-sidekiq");
    const adapter = createEcsAdapter({
      cluster: "tines-prod",
      region: "eu-west-1",
      endpoint: "http://127.0.0.1:4566",
    });
    const scaled = adapter.scaleService(step, { parent, phase: "shutdown", timeoutSeconds: 600 });

    expect(await value(scaled.reachedCount)).toBe(0);
    expect(await value(scaled.previousCount)).toBe(3);
    const urn = await value(scaled.resource.urn);
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
    const parent = new Parent("tines-app");
    createEcsAdapter({ cluster: "tines" }).scaleService(
      { ...step, name: "tines-app", workloadName: "tines-app", targetCount: 2 },
      { parent, phase: "running", timeoutSeconds: 900 },
    );
    await new Promise((r) => setTimeout(r, 50));
    const inputs = registered.find((r) => r.name === "tines-app" && r.type.endsWith("ServiceCount"))?.inputs;
    expect(inputs).toMatchObject({ cluster: "tines", service: "tines-app", desiredCount: 2 });
    expect(inputs).not.toHaveProperty("region");
    expect(inputs).not.toHaveProperty("endpoint");
  });
});
