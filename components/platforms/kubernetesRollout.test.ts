import { describe, expect, it } from "vitest";
import { createReadyWorkload, workloadPath, type KubeTestClient } from "../../testkit/servers/kubernetes";
import { withNamespace, type TestNamespace } from "../../testkit/kubeNamespace";
import { createSerialized } from "../../testkit/runSerialized";
import { kubernetesRolloutProvider, rolloutInputProblems } from "./kubernetesRollout";

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
      { property: "name", reason: "must be a Kubernetes object name" },
      { property: "kind", reason: "must be one of: Deployment, StatefulSet" },
      { property: "targetCount", reason: "must be a whole number >= 0" },
      { property: "context", reason: "must be a non-empty string when set" },
    ]);
    const checked = await kubernetesRolloutProvider.provider.check!({}, { ...inputs, timeoutSeconds: 0 });
    expect(checked.failures).toEqual([{ property: "timeoutSeconds", reason: "must be a whole number >= 1" }]);
  });

  it("waits again when the target changes, not for a new timeout alone", async () => {
    expect(
      (await kubernetesRolloutProvider.provider.diff!("id", inputs, { ...inputs, targetCount: 3 })).changes,
    ).toBe(true);
    expect(
      (await kubernetesRolloutProvider.provider.diff!("id", inputs, { ...inputs, timeoutSeconds: 900 }))
        .changes,
    ).toBe(false);
  });
});

describe("kubernetesRolloutProvider as the Pulumi CLI loads it", () => {
  let plane: TestNamespace["plane"];
  let admin: KubeTestClient;
  let ns: string;
  withNamespace("provider", (space) => ({ plane, admin, ns } = space));

  it("serializes, loads from text and waits against the real API server with the ambient kubeconfig", async () => {
    await createReadyWorkload(admin, "Deployment", ns, "tines-app", 2);
    await admin.mergePatch(workloadPath(ns, "Deployment", "tines-app"), { spec: { replicas: 0 } });
    const waitInputs = { ...inputs, namespace: ns };
    const report = await createSerialized(kubernetesRolloutProvider.type, waitInputs, {
      env: { KUBECONFIG: plane.kubeconfig },
      timeoutMs: 60_000,
    });
    if (!report.ok) throw new Error(report.stderr);
    const lines = report.stdout.trim().split("\n");
    expect(lines.slice(0, -1).join("\n")).toMatch(
      new RegExp(`Deployment ${ns}/tines-app: no pods left after \\d+s`),
    );
    expect(report.result.id).toBe(`${ns}/Deployment/tines-app`);
    expect(report.result.outs).toMatchObject({ ...waitInputs, reachedCount: 0, readyReplicas: 0 });
    expect(await admin.list(`/api/v1/namespaces/${ns}/pods`, "app.kubernetes.io/name=tines-app")).toEqual([]);
  }, 60_000);
});
