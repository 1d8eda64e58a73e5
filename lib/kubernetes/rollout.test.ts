import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, MaintenanceError } from "../errors";
import type { ProgressReporter } from "../progress";
import { createKubeClient } from "./client";
import { resolveConnection } from "./kubeconfig";
import { waitForRollout, type RolloutTarget } from "./rollout";
import deploymentScaledUp from "./testdata/deployment-scaled-up.json";
import deploymentScalingDown from "./testdata/deployment-scaling-down.json";
import hpaList from "./testdata/hpas.json";
import podsTerminating from "./testdata/pods-terminating.json";
import { startFakeApiServer, writeKubeconfig, type FakeApiServer } from "./testing";
import type { HorizontalPodAutoscaler, Pod, Workload } from "./workload";

let api: FakeApiServer;
beforeAll(async () => {
  api = await startFakeApiServer();
});
afterAll(async () => {
  await api?.close();
});

function recorder() {
  const lines: string[] = [];
  const reporter: ProgressReporter = {
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
  };
  return { lines, reporter };
}

/** A fake clock: every sleep advances time and lets the scenario move the cluster on. */
function scenario(steps: Array<() => void>) {
  let t = 1_000_000;
  let i = 0;
  return {
    now: () => t,
    sleep: async (ms: number) => {
      t += ms;
      steps[i++]?.();
    },
    sleeps: () => i,
  };
}

function clientFor(user: Record<string, unknown>) {
  const file = writeKubeconfig(api, user);
  return createKubeClient(resolveConnection({ env: { KUBECONFIG: file } }));
}

const appPods = () =>
  structuredClone(podsTerminating.items) as Array<Pod & { metadata: { labels?: Record<string, string> } }>;
const appTarget: RolloutTarget = {
  namespace: "tines",
  kind: "Deployment",
  name: "tines-app",
  targetCount: 0,
};

beforeEach(() => {
  api.cluster.workloads.clear();
  api.cluster.pods.clear();
  api.cluster.hpas.clear();
  api.requests.length = 0;
});

describe("waitForRollout down, against a local HTTPS API server", () => {
  it("waits until the last terminating pod is gone, reporting pods and time left", async () => {
    api.cluster.workloads.set(
      "tines/deployments/tines-app",
      structuredClone(deploymentScalingDown) as Workload,
    );
    const pods = appPods();
    const second = structuredClone(pods[0]);
    second.metadata.name = "tines-app-7c9d8f6b5d-x7p2m";
    // Another app's pod in the namespace must not count.
    const other = {
      metadata: { name: "tines-sidekiq-abc", labels: { "app.kubernetes.io/name": "tines-sidekiq" } },
      status: { phase: "Running" },
    };
    api.cluster.pods.set("tines", [...pods, second, other]);
    const clock = scenario([
      () => api.cluster.pods.set("tines", [pods[0], pods[1], other]),
      () => undefined,
      () => api.cluster.pods.set("tines", [pods[1], other]),
    ]);
    const { lines, reporter } = recorder();
    const client = clientFor({ token: api.token });

    const result = await waitForRollout(client, appTarget, {
      timeoutSeconds: 600,
      reporter,
      clock,
    });

    expect(result).toMatchObject({ reachedCount: 0, readyReplicas: 0, seconds: 15 });
    expect(result.hpa).toBeUndefined();
    expect(clock.sleeps()).toBe(3);
    expect(lines[0]).toBe(
      "info Deployment tines/tines-app: 2 pod(s) left, waiting for 2 pod(s) to terminate; 10m00s left",
    );
    expect(lines[1]).toBe(
      "info Deployment tines/tines-app: 1 pod(s) left, waiting for 1 pod(s) to terminate; 9m55s left",
    );
    // Unchanged state within 30 s is not repeated.
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe("info Deployment tines/tines-app: no pods left after 15s");
    const podQueries = api.requests.filter((r) => r.path.startsWith("/api/v1/namespaces/tines/pods"));
    expect(decodeURIComponent(podQueries[0].path)).toBe(
      "/api/v1/namespaces/tines/pods?labelSelector=app.kubernetes.io/name=tines-app,app.kubernetes.io/instance=tines",
    );
    expect(api.requests.every((r) => r.authorization === `Bearer ${api.token}`)).toBe(true);
  });

  it("fails after the timeout with what it still waits for, leaving the next step unstarted", async () => {
    api.cluster.workloads.set(
      "tines/deployments/tines-app",
      structuredClone(deploymentScalingDown) as Workload,
    );
    api.cluster.pods.set("tines", appPods());
    const clock = scenario([]);
    const { reporter } = recorder();
    const client = clientFor({ token: api.token });

    const error = await waitForRollout(client, appTarget, {
      timeoutSeconds: 60,
      reporter,
      clock,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MaintenanceError);
    expect((error as Error).message).toBe(
      "Deployment tines/tines-app did not reach 0 replica(s) within 1m00s: still waiting for 1 pod(s) to terminate " +
        "(1 pod(s), 0 ready); raise tines-maintenance:stepTimeoutSeconds or check the pods (kubectl -n tines get pods)",
    );
    expect(clock.sleeps()).toBe(12);
  });

  it("names the workload and the config keys when it does not exist", async () => {
    const { reporter } = recorder();
    const error = await waitForRollout(
      clientFor({ token: api.token }),
      { ...appTarget, name: "nginx" },
      { timeoutSeconds: 60, reporter },
    ).catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      "Deployment tines/nginx not found; set services.<key>.name / kind to the workload's name and kind",
    );
  });

  it("reports a refused token without printing it", async () => {
    const { reporter } = recorder();
    const error = await waitForRollout(clientFor({ token: "wrong-secret-token" }), appTarget, {
      timeoutSeconds: 60,
      reporter,
    }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      /^Kubernetes API GET \/api.* \(context fake\): HTTP 401 Unauthorized$/,
    );
    expect((error as Error).message).not.toContain("wrong-secret-token");
  });
});

describe("waitForRollout up", () => {
  it("waits for ready replicas, authenticating with an exec credential plugin, and records the HPA", async () => {
    const starting = structuredClone(deploymentScaledUp) as Workload;
    starting.status = {
      ...starting.status,
      observedGeneration: 15,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 0,
    };
    api.cluster.workloads.set("tines/deployments/tines-sidekiq", starting);
    api.cluster.hpas.set("tines", structuredClone(hpaList.items) as HorizontalPodAutoscaler[]);
    const clock = scenario([
      () => (starting.status!.readyReplicas = 2),
      () => (starting.status!.readyReplicas = 3),
    ]);
    const plugin = join(api.dir, "credential.js");
    writeFileSync(
      plugin,
      `process.stdout.write(JSON.stringify({apiVersion:"client.authentication.k8s.io/v1beta1",kind:"ExecCredential",status:{token:${JSON.stringify(api.token)}}}))`,
    );
    const client = clientFor({
      exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: process.execPath, args: [plugin] },
    });
    const { lines, reporter } = recorder();

    const result = await waitForRollout(
      client,
      { namespace: "tines", kind: "Deployment", name: "tines-sidekiq", targetCount: 1 },
      { timeoutSeconds: 300, reporter, clock },
    );

    expect(result).toMatchObject({
      reachedCount: 3,
      readyReplicas: 3,
      hpa: { name: "tines-sidekiq", minReplicas: 2, maxReplicas: 6 },
    });
    expect(lines[0]).toMatch(
      /^warn HorizontalPodAutoscaler tines-sidekiq \(min 2, max 6\).*restored count 1 into \[2, 6\]$/,
    );
    expect(lines[1]).toBe(
      "info Deployment tines/tines-sidekiq: 0/3 ready, waiting for 3 replica(s) to become ready (0/3); 5m00s left",
    );
    expect(lines).toContain(
      "warn Deployment tines/tines-sidekiq: asked for 1 replicas, it runs 3 (changed by an HPA or another controller)",
    );
    expect(lines.at(-1)).toBe("info Deployment tines/tines-sidekiq: 3/3 ready after 10s");
  });
});

describe("resolveConnection", () => {
  it("names kubernetes.context and the contexts that exist when the context is unknown", () => {
    const file = writeKubeconfig(api, { token: api.token });
    expect(() => resolveConnection({ env: { KUBECONFIG: file }, context: "prod" })).toThrow(ConfigError);
    expect(() => resolveConnection({ env: { KUBECONFIG: file }, context: "prod" })).toThrow(
      'tines-maintenance:kubernetes.context: unknown context "prod"; allowed: fake',
    );
  });

  it("merges a KUBECONFIG path list, first file wins, missing files skipped", () => {
    const first = writeKubeconfig(api, { token: "from-first" }, "first");
    const second = writeKubeconfig(api, { token: "from-second" }, "second");
    const connection = resolveConnection({
      env: { KUBECONFIG: [join(api.dir, "missing"), first, second].join(":") },
    });
    expect(connection).toMatchObject({ source: "context fake", server: api.url, token: "from-first" });
    expect(connection.ca?.toString()).toBe(api.caPem);
  });

  it("falls back to the in-cluster service account", () => {
    const saDir = join(api.dir, "sa");
    require("node:fs").mkdirSync(saDir, { recursive: true });
    writeFileSync(join(saDir, "token"), "sa-token\n");
    writeFileSync(join(saDir, "ca.crt"), api.caPem);
    const connection = resolveConnection({
      env: {
        KUBECONFIG: join(api.dir, "none"),
        KUBERNETES_SERVICE_HOST: "10.96.0.1",
        KUBERNETES_SERVICE_PORT: "443",
      },
      serviceAccountDir: saDir,
    });
    expect(connection).toMatchObject({
      source: "in-cluster",
      server: "https://10.96.0.1:443",
      tokenFile: join(saDir, "token"),
    });
    expect(() =>
      resolveConnection({ env: { KUBECONFIG: join(api.dir, "none") }, serviceAccountDir: saDir }),
    ).toThrow(/no kubeconfig found .* and not running in a cluster/);
  });
});
