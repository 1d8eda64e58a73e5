import { describe, expect, it } from "vitest";
import { kubePaths } from "../kubernetes/client";
import deploymentScaledUp from "../kubernetes/testdata/deployment-scaled-up.json";
import type { Workload } from "../kubernetes/workload";
import { assessWindow } from "./record";
import { kubernetesVersions } from "./versions";

const recorded = deploymentScaledUp as Workload;

/** A Kubernetes API that serves the recorded Deployment under `name`, with the pod template's image swapped in. */
function api(image: string) {
  const workload = structuredClone(recorded);
  const container = workload.spec.template?.spec?.containers?.[0];
  if (container) container.image = image;
  return {
    get: async <T>(path: string): Promise<T | undefined> =>
      path === kubePaths.workload("tines", "Deployment", "tines-app") ? (workload as T) : undefined,
  };
}

describe("Tines versions on Kubernetes", () => {
  it("reads the pod template images of each workload", async () => {
    const versions = await kubernetesVersions(api("registry.tines.com/tines-app:v42.2.2"), "tines", {
      "tines-app": { name: "tines-app" },
    });
    expect(versions["tines-app"]).toContain("=registry.tines.com/tines-app:v42.2.2");
  });

  it("names a workload it cannot find", async () => {
    await expect(
      kubernetesVersions(api("x"), "tines", { "tines-sidekiq": { name: "tines-sidekiq" } }),
    ).rejects.toThrow("Deployment tines/tines-sidekiq not found; check services.tines-sidekiq.name");
  });

  it("a new image in the pod template during the window refuses the startup", async () => {
    const workloads = { "tines-app": { name: "tines-app" } };
    const before = await kubernetesVersions(api("registry.tines.com/tines-app:v42.2.2"), "tines", workloads);
    const after = await kubernetesVersions(api("registry.tines.com/tines-app:v43.0.0"), "tines", workloads);
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
