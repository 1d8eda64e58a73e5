import { describe, expect, it } from "vitest";
import { workloadManifest, workloadPath, type KubeTestClient } from "../../testkit/servers/kubernetes";
import { withNamespace } from "../../testkit/kubeNamespace";
import { assessWindow } from "./record";
import { kubernetesVersions } from "./versions";

// The Deployment is the API server's own object, so the images read are where the server keeps them.
let admin: KubeTestClient;
let ns: string;

withNamespace("versions", async (space) => {
  ({ admin, ns } = space);
  await admin.create(
    `/apis/apps/v1/namespaces/${ns}/deployments`,
    workloadManifest("Deployment", ns, "tines-app", 0),
  );
});

async function setImage(image: string): Promise<void> {
  await admin.mergePatch(workloadPath(ns, "Deployment", "tines-app"), {
    spec: { template: { spec: { containers: [{ name: "main", image }] } } },
  });
}

describe("Tines versions on Kubernetes, read from a real API server", () => {
  it("reads the pod template images of each workload", async () => {
    await setImage("registry.tines.com/tines-app:v42.2.2");
    const versions = await kubernetesVersions(admin, ns, { "tines-app": { name: "tines-app" } });
    expect(versions["tines-app"]).toContain("=registry.tines.com/tines-app:v42.2.2");
  });

  it("names a workload it cannot find", async () => {
    await expect(
      kubernetesVersions(admin, ns, { "tines-sidekiq": { name: "tines-sidekiq" } }),
    ).rejects.toThrow(`Deployment ${ns}/tines-sidekiq not found; check services.tines-sidekiq.name`);
  });

  it("a new image in the pod template during the window refuses the startup", async () => {
    const workloads = { "tines-app": { name: "tines-app" } };
    await setImage("registry.tines.com/tines-app:v42.2.2");
    const before = await kubernetesVersions(admin, ns, workloads);
    await setImage("registry.tines.com/tines-app:v43.0.0");
    const after = await kubernetesVersions(admin, ns, workloads);
    const settings = {};
    const down = assessWindow(
      undefined,
      { phase: "shutdown", allowVersionChange: false, settings },
      before,
      0,
    );
    expect(() =>
      assessWindow(down.record, { phase: "running", allowVersionChange: false, settings }, after, 1000),
    ).toThrow(/tines-app: .*v42\.2\.2 -> .*v43\.0\.0/);
  });
});
