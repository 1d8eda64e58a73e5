import { afterAll, beforeAll, describe, expect, it } from "vitest";
import deploymentScalingDown from "../../lib/kubernetes/testdata/deployment-scaling-down.json";
import { startFakeApiServer, writeKubeconfig, type FakeApiServer } from "../../lib/kubernetes/testing";
import type { Workload } from "../../lib/kubernetes/workload";
import { createSerialized } from "../../test/runSerialized";
import { kubernetesRolloutProvider, rolloutInputProblems } from "./kubernetesRolloutProvider";

const inputs = {
  namespace: "tines",
  kind: "Deployment",
  name: "tines-app",
  targetCount: 0,
  timeoutSeconds: 60,
  pollSeconds: 1,
};

describe("kubernetesRolloutProvider check and diff (no cluster access)", () => {
  it("accepts valid inputs and names every bad field with what is allowed", async () => {
    expect(rolloutInputProblems(inputs)).toEqual([]);
    expect(
      rolloutInputProblems({ ...inputs, kind: "DaemonSet", targetCount: -1, name: "Tines_App", context: "" }),
    ).toEqual([
      "name: must be a Kubernetes object name",
      "kind: must be one of: Deployment, StatefulSet",
      "targetCount: must be a whole number >= 0",
      "context: must be a non-empty string",
    ]);
    const checked = await kubernetesRolloutProvider.check!({}, { ...inputs, timeoutSeconds: 0 });
    expect(checked.failures).toEqual([
      { property: "timeoutSeconds", reason: "timeoutSeconds: must be a whole number >= 1" },
    ]);
  });

  it("waits again when the target changes, not for a new timeout alone", async () => {
    expect((await kubernetesRolloutProvider.diff!("id", inputs, { ...inputs, targetCount: 3 })).changes).toBe(
      true,
    );
    expect(
      (await kubernetesRolloutProvider.diff!("id", inputs, { ...inputs, timeoutSeconds: 900 })).changes,
    ).toBe(false);
  });
});

describe("kubernetesRolloutProvider as the Pulumi CLI loads it", () => {
  let api: FakeApiServer;
  beforeAll(async () => {
    api = await startFakeApiServer();
  });
  afterAll(async () => {
    await api?.close();
  });

  it("serializes, loads from text and waits against a real HTTPS API with the ambient kubeconfig", async () => {
    api.cluster.workloads.set(
      "tines/deployments/tines-app",
      structuredClone(deploymentScalingDown) as Workload,
    );
    api.cluster.pods.set("tines", []);
    const kubeconfig = writeKubeconfig(api, { token: api.token });
    const report = await createSerialized("kubernetesRollout", inputs, {
      env: { KUBECONFIG: kubeconfig },
      timeoutMs: 60_000,
    });
    if (!report.ok) throw new Error(report.stderr);
    const lines = report.stdout.trim().split("\n");
    expect(lines.slice(0, -1).join("\n")).toContain("Deployment tines/tines-app: no pods left after 0s");
    expect(report.result.id).toBe("tines/Deployment/tines-app");
    expect(report.result.outs).toMatchObject({ ...inputs, reachedCount: 0, readyReplicas: 0 });
    expect(api.requests.map((r) => r.path.split("?")[0])).toEqual([
      "/apis/autoscaling/v2/namespaces/tines/horizontalpodautoscalers",
      "/apis/apps/v1/namespaces/tines/deployments/tines-app",
      "/api/v1/namespaces/tines/pods",
    ]);
  }, 60_000);
});
