import * as pulumi from "@pulumi/pulumi";
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from "vitest";
import type { ServiceStep } from "../../lib/plan/plan";
import { known, mockEngine, ServiceStepParent, type Registration } from "../../testkit/mocks";
import { createKubernetesAdapter, KUBERNETES_PROVIDER_NAME } from "./kubernetes";

/** Live objects the reads return: a Sidekiq Deployment at 3 replicas whose pods get 20 s to stop. */
function mock(preview: boolean, live: { replicas: number; grace?: number } = { replicas: 3, grace: 20 }) {
  return mockEngine({
    preview,
    state: (r) => {
      if (r.id !== undefined) {
        const template = {
          spec: {
            ...(live.grace === undefined ? {} : { terminationGracePeriodSeconds: live.grace }),
            containers: [],
          },
        };
        return {
          metadata: { name: r.id.split("/")[1], namespace: r.id.split("/")[0] },
          spec: { replicas: live.replicas, template },
        };
      }
      if (r.type === "pulumi-nodejs:dynamic/kubernetes:Rollout") {
        return { reachedCount: r.inputs.targetCount, readyReplicas: r.inputs.targetCount, seconds: 12 };
      }
      return undefined;
    },
  }).registrations;
}

const sidekiq: ServiceStep = {
  type: "service",
  name: "tines-sidekiq",
  workloadName: "tines-sidekiq-prod",
  workloadKind: "Deployment",
  configuredCount: 3,
  targetCount: 0,
  keptRunning: false,
};

function only(registered: Registration[], type: string): Registration {
  const matches = registered.filter((r) => r.type === type);
  expect(matches, `${type}: ${registered.map((r) => r.type).join(", ")}`).toHaveLength(1);
  return matches[0];
}

let warn: MockInstance<typeof pulumi.log.warn>;
beforeEach(() => {
  warn = vi.spyOn(pulumi.log, "warn").mockResolvedValue(undefined);
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe("createKubernetesAdapter", () => {
  it("reads the live count, then patches only spec.replicas with force, then waits for the rollout", async () => {
    const registered = mock(false);
    vi.stubEnv("KUBECONFIG", "/home/operator/.kube/prod");
    const adapter = createKubernetesAdapter({ namespace: "tines-prod", context: "prod-eks" });
    const parent = new ServiceStepParent("tines-sidekiq");
    const scaled = adapter.scaleService(sidekiq, { parent, phase: "shutdown", timeoutSeconds: 900 });

    expect(await known(scaled.previousCount)).toBe(3);
    expect(await known(scaled.reachedCount)).toBe(0);
    expect(await known(scaled.resource.urn)).toBe(
      "urn:pulumi:test::tines-maintenance::tines-maintenance:index:ServiceStep$kubernetes:apps/v1:DeploymentPatch::tines-sidekiq",
    );

    const provider = only(registered, "pulumi:providers:kubernetes");
    expect(provider.name).toBe(KUBERNETES_PROVIDER_NAME);
    // Empty although KUBECONFIG is set: the plugin copies any kubeconfig it is given to /tmp.
    expect(provider.inputs).toMatchObject({ kubeconfig: "", namespace: "tines-prod", context: "prod-eks" });
    expect(String(provider.inputs.enableServerSideApply)).toBe("true");

    const read = only(registered, "kubernetes:apps/v1:Deployment");
    expect(read).toMatchObject({ name: "tines-sidekiq-before", id: "tines-prod/tines-sidekiq-prod" });

    const patch = only(registered, "kubernetes:apps/v1:DeploymentPatch");
    expect(patch.name).toBe("tines-sidekiq");
    expect(patch.inputs).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: {
        name: "tines-sidekiq-prod",
        namespace: "tines-prod",
        annotations: { "pulumi.com/patchForce": "true", "pulumi.com/skipAwait": "true" },
      },
      spec: { replicas: 0 },
    });
    for (const r of [read, patch])
      expect(r.provider).toMatch(
        /^urn:pulumi:test::tines-maintenance::pulumi:providers:kubernetes::tines-kubernetes::/,
      );

    // The rollout wait and the KEDA pause both name the patched workload in the adapter's context.
    const workload = {
      namespace: "tines-prod",
      kind: "Deployment",
      name: "tines-sidekiq-prod",
      context: "prod-eks",
    };
    const rollout = only(registered, "pulumi-nodejs:dynamic/kubernetes:Rollout");
    expect(rollout.name).toBe("tines-sidekiq-rollout");
    expect(rollout.inputs).toMatchObject({ ...workload, targetCount: 0, timeoutSeconds: 900 });

    const keda = only(registered, "pulumi-nodejs:dynamic/kubernetes:KedaPause");
    expect(keda.name).toBe("tines-sidekiq-keda");
    expect(keda.inputs).toMatchObject({ ...workload, paused: true });

    // dependsOn: the SDK registers a resource only after its dependencies finished.
    expect(keda.start).toBeGreaterThan(read.end);
    expect(patch.start).toBeGreaterThan(keda.end);
    expect(rollout.start).toBeGreaterThan(patch.end);
  });

  it("patches a StatefulSet with StatefulSetPatch and reads it as a StatefulSet", async () => {
    const registered = mock(false, { replicas: 1 });
    const adapter = createKubernetesAdapter({ namespace: "tines" });
    const parent = new ServiceStepParent("redis");
    const step: ServiceStep = {
      ...sidekiq,
      name: "redis",
      workloadName: "redis-master",
      workloadKind: "StatefulSet",
      configuredCount: 1,
      targetCount: 1,
    };
    const scaled = adapter.scaleService(step, { parent, phase: "running", timeoutSeconds: 300 });

    expect(await known(scaled.reachedCount)).toBe(1);
    expect(await known(scaled.previousCount)).toBe(1);
    const patch = only(registered, "kubernetes:apps/v1:StatefulSetPatch");
    expect(patch.inputs).toMatchObject({
      kind: "StatefulSet",
      metadata: { name: "redis-master", namespace: "tines" },
      spec: { replicas: 1 },
    });
    expect(only(registered, "kubernetes:apps/v1:StatefulSet").id).toBe("tines/redis-master");
    // Startup removes the KEDA pause before the count is restored.
    const keda = only(registered, "pulumi-nodejs:dynamic/kubernetes:KedaPause");
    expect(keda.inputs).toMatchObject({ kind: "StatefulSet", name: "redis-master", paused: false });
    expect(patch.start).toBeGreaterThan(keda.end);
    expect(only(registered, "pulumi:providers:kubernetes").inputs.context).toBeUndefined();
  });

  it("hands the version guard its namespace and context, to read the pod templates", () => {
    const adapter = createKubernetesAdapter({ namespace: "tines-prod", context: "prod" });
    expect(adapter.versionSource).toEqual({
      platform: "kubernetes",
      namespace: "tines-prod",
      context: "prod",
    });
  });

  it("creates one provider for all steps, so its URN does not depend on which step comes first", async () => {
    const registered = mock(false);
    const adapter = createKubernetesAdapter({ namespace: "tines" });
    for (const name of ["tines-app", "tines-sidekiq"] as const) {
      const scaled = adapter.scaleService(
        { ...sidekiq, name, workloadName: name },
        { parent: new ServiceStepParent(name), phase: "shutdown", timeoutSeconds: 60 },
      );
      await known(scaled.reachedCount);
    }
    expect(registered.filter((r) => r.type === "pulumi:providers:kubernetes")).toHaveLength(1);
    expect(
      registered.filter((r) => r.type === "kubernetes:apps/v1:DeploymentPatch").map((r) => r.name),
    ).toEqual(["tines-app", "tines-sidekiq"]);
  });

  it("warns at preview when Sidekiq's pods get less time to stop than Sidekiq needs", async () => {
    mock(true, { replicas: 3, grace: 20 });
    const scaled = createKubernetesAdapter({ namespace: "tines" }).scaleService(sidekiq, {
      parent: new ServiceStepParent("tines-sidekiq"),
      phase: "shutdown",
      timeoutSeconds: 60,
    });
    expect(await known(scaled.previousCount)).toBe(3);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(
      /^tines-sidekiq-prod: terminationGracePeriodSeconds is 20s.*at least 30s/,
    );
  });

  it("does not warn when the grace period is long enough, or for other services", async () => {
    mock(true, { replicas: 3, grace: 60 });
    await known(
      createKubernetesAdapter({ namespace: "tines" }).scaleService(sidekiq, {
        parent: new ServiceStepParent("tines-sidekiq"),
        phase: "shutdown",
        timeoutSeconds: 60,
      }).previousCount,
    );
    mock(true, { replicas: 3, grace: 5 });
    await known(
      createKubernetesAdapter({ namespace: "tines" }).scaleService(
        { ...sidekiq, name: "tines-app", workloadName: "tines-app" },
        { parent: new ServiceStepParent("tines-app"), phase: "shutdown", timeoutSeconds: 60 },
      ).previousCount,
    );
    expect(warn).not.toHaveBeenCalled();
  });
});
