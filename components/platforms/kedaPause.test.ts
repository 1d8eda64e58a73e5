import { describe, expect, it } from "vitest";
import { KEDA_PAUSED_REPLICAS, type ScaledObject } from "../../lib/kubernetes/keda";
import {
  installScaledObjectCrd,
  scaledObjectManifest,
  type KubeTestClient,
} from "../../testkit/servers/kubernetes";
import { withNamespace, type TestNamespace } from "../../testkit/kubeNamespace";
import { createSerialized } from "../../testkit/runSerialized";
import { kedaPauseInputProblems, kedaPauseProvider } from "./kedaPause";

const inputs = { namespace: "tines", kind: "Deployment", name: "tines-sidekiq", paused: true };

describe("kedaPauseProvider check and diff (no cluster access)", () => {
  it("names every bad field with what is allowed", async () => {
    expect(kedaPauseInputProblems(inputs)).toEqual([]);
    expect(kedaPauseInputProblems({ ...inputs, kind: "Job", paused: "yes", name: "" })).toEqual([
      { property: "name", reason: "must be a Kubernetes object name" },
      { property: "kind", reason: "must be one of: Deployment, StatefulSet" },
      { property: "paused", reason: "must be true or false" },
    ]);
  });

  it("runs again when the phase flips the pause", async () => {
    expect((await kedaPauseProvider.provider.diff!("id", inputs, { ...inputs, paused: false })).changes).toBe(
      true,
    );
    expect((await kedaPauseProvider.provider.diff!("id", inputs, { ...inputs })).changes).toBe(false);
  });
});

describe("kedaPauseProvider as the Pulumi CLI loads it, on the real API server", () => {
  let plane: TestNamespace["plane"];
  let admin: KubeTestClient;
  let ns: string;
  withNamespace("kedaprov", async (space) => {
    ({ plane, admin, ns } = space);
    await installScaledObjectCrd(admin);
    await admin.create(
      `/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects`,
      scaledObjectManifest(ns, "sidekiq", "tines-sidekiq"),
    );
  });
  const annotations = async () =>
    (await admin.get<ScaledObject>(`/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects/sidekiq`))!.metadata
      .annotations ?? {};

  it("pauses at shutdown and resumes at startup; a workload without a ScaledObject is left alone", async () => {
    const env = { KUBECONFIG: plane.kubeconfig };
    const down = await createSerialized(
      kedaPauseProvider.type,
      { ...inputs, namespace: ns },
      { env, timeoutMs: 60_000 },
    );
    if (!down.ok) throw new Error(down.stderr);
    expect(down.result.outs).toMatchObject({ scaledObject: "sidekiq", pausedReplicas: "0", ownedByUs: true });
    expect(down.stdout).toContain(
      `KEDA ScaledObject ${ns}/sidekiq targets Deployment ${ns}/tines-sidekiq: paused at 0`,
    );
    expect(await annotations()).toEqual({ [KEDA_PAUSED_REPLICAS]: "0" });

    const up = await createSerialized(
      kedaPauseProvider.type,
      { ...inputs, namespace: ns, paused: false },
      { env, timeoutMs: 60_000 },
    );
    if (!up.ok) throw new Error(up.stderr);
    expect(up.result.outs).toMatchObject({ scaledObject: "sidekiq", ownedByUs: false });
    expect(up.result.outs.pausedReplicas).toBeUndefined();
    expect(await annotations()).toEqual({});

    const none = await createSerialized(
      kedaPauseProvider.type,
      { ...inputs, namespace: ns, name: "tines-app" },
      { env, timeoutMs: 60_000 },
    );
    if (!none.ok) throw new Error(none.stderr);
    expect(none.result.outs).toMatchObject({ ownedByUs: false });
    expect(none.result.outs.scaledObject).toBeUndefined();
  }, 120_000);
});
