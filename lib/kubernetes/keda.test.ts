import { describe, expect, it } from "vitest";
import {
  installScaledObjectCrd,
  scaledObjectManifest,
  type KubeTestClient,
} from "../../testkit/servers/kubernetes";
import { withNamespace } from "../../testkit/kubeNamespace";
import { createKubeClient, type KubeClient } from "./client";
import {
  KEDA_FIELD_MANAGER,
  KEDA_PAUSED_REPLICAS,
  findScaledObject,
  ownsPause,
  pauseScaledObject,
  resumeScaledObject,
  type ScaledObject,
} from "./keda";
import { resolveConnection } from "./kubeconfig";

// KEDA's real ScaledObject CRD on the real API server; no KEDA operator: what is proven here
// is the annotations KEDA reads, and who owns them.
let admin: KubeTestClient;
let client: KubeClient;
let ns: string;

withNamespace("keda", (space) => {
  ({ admin, ns } = space);
  client = createKubeClient(resolveConnection({ env: { KUBECONFIG: space.plane.kubeconfig } }));
});

const soPath = (name: string) => `/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects/${name}`;
const read = async (name: string) => (await admin.get<ScaledObject>(soPath(name)))!;

describe("KEDA ScaledObject pause, on the real API server", () => {
  it("finds nothing, without an error, while KEDA's CRD is not installed", async () => {
    const crd = await admin.get(
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/scaledobjects.keda.sh",
    );
    if (crd === undefined)
      expect(await findScaledObject(client, ns, "Deployment", "tines-sidekiq")).toBeUndefined();
    await installScaledObjectCrd(admin);
  });

  it("finds the ScaledObject targeting the workload (kind Deployment by default)", async () => {
    await admin.create(
      `/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects`,
      scaledObjectManifest(ns, "sidekiq-so", "tines-sidekiq"),
    );
    await admin.create(`/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects`, {
      ...scaledObjectManifest(ns, "redis-so", "redis"),
      spec: {
        ...scaledObjectManifest(ns, "redis-so", "redis").spec,
        scaleTargetRef: { name: "redis", kind: "StatefulSet" },
      },
    });
    expect((await findScaledObject(client, ns, "Deployment", "tines-sidekiq"))?.metadata.name).toBe(
      "sidekiq-so",
    );
    expect(await findScaledObject(client, ns, "StatefulSet", "tines-sidekiq")).toBeUndefined();
    expect((await findScaledObject(client, ns, "StatefulSet", "redis"))?.metadata.name).toBe("redis-so");
    expect(await findScaledObject(client, ns, "Deployment", "redis")).toBeUndefined();
  });

  it("pauses at 0 under its own field manager and removes exactly that at resume, keeping other annotations", async () => {
    await admin.create(
      `/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects`,
      scaledObjectManifest(ns, "app-so", "tines-app", { "team.example/owner": "platform" }),
    );
    const found = (await findScaledObject(client, ns, "Deployment", "tines-app"))!;
    expect(ownsPause(found)).toBe(false);

    const paused = await pauseScaledObject(client, ns, found, 0);
    expect(paused).toEqual({ scaledObject: "app-so", pausedReplicas: "0", ownedByUs: true });
    const live = await read("app-so");
    expect(live.metadata.annotations).toEqual({
      "team.example/owner": "platform",
      [KEDA_PAUSED_REPLICAS]: "0",
    });
    expect(ownsPause(live)).toBe(true);
    expect(live.metadata.managedFields?.map((f) => f.manager)).toContain(KEDA_FIELD_MANAGER);
    // A second pause (a rerun after an interrupted update) changes nothing.
    expect(await pauseScaledObject(client, ns, live, 0)).toMatchObject({
      pausedReplicas: "0",
      ownedByUs: true,
    });

    const resumed = await resumeScaledObject(client, ns, await read("app-so"));
    expect(resumed).toEqual({ scaledObject: "app-so", ownedByUs: false });
    const after = await read("app-so");
    expect(after.metadata.annotations).toEqual({ "team.example/owner": "platform" });
    expect(ownsPause(after)).toBe(false);
  });

  it("leaves an operator's own pause alone, at shutdown and at startup", async () => {
    await admin.create(
      `/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects`,
      scaledObjectManifest(ns, "runner-so", "tines-command-runner"),
    );
    // As `kubectl annotate` writes it.
    await admin.mergePatch(soPath("runner-so"), {
      metadata: { annotations: { [KEDA_PAUSED_REPLICAS]: "1" } },
    });
    const before = await read("runner-so");
    expect(await pauseScaledObject(client, ns, before, 0)).toEqual({
      scaledObject: "runner-so",
      pausedReplicas: "1",
      ownedByUs: false,
      pausedBy: KEDA_PAUSED_REPLICAS,
    });
    expect(await resumeScaledObject(client, ns, await read("runner-so"))).toMatchObject({
      pausedReplicas: "1",
      ownedByUs: false,
    });
    const after = await read("runner-so");
    expect(after.metadata.annotations?.[KEDA_PAUSED_REPLICAS]).toBe("1");
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });
});
