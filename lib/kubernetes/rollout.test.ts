import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  createReadyWorkload,
  releasePods,
  waitUntil,
  workloadPath,
  type KubeTestClient,
} from "../../testkit/servers/kubernetes";
import { withNamespace, type TestNamespace } from "../../testkit/kubeNamespace";
import { ConfigError, MaintenanceError } from "../errors";
import type { ProgressReporter } from "../progress";
import { createKubeClient } from "./client";
import { resolveConnection } from "./kubeconfig";
import { pollDelayMs, waitForRollout } from "./rollout";

let plane: TestNamespace["plane"];
let admin: KubeTestClient;
let ns: string;
let dir: string;

withNamespace("rollout", (space) => {
  ({ plane, admin, ns } = space);
  dir = mkdtempSync(join(tmpdir(), "kubeconfig-"));
});
// The kubeconfigs hold the plane's token: none stays behind.
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function recorder() {
  const lines: string[] = [];
  const reporter: ProgressReporter = {
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
  };
  return { lines, reporter };
}

let kubeconfigs = 0;
/** A kubeconfig for the plane with this user entry, resolved the way the provider resolves it. */
function kubeconfigFor(user: Record<string, unknown>): string {
  const file = join(dir, `config-${++kubeconfigs}`);
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "plane",
      clusters: [
        {
          name: "plane",
          cluster: {
            server: plane.server,
            "certificate-authority-data": Buffer.from(plane.caPem).toString("base64"),
          },
        },
      ],
      users: [{ name: "u", user }],
      contexts: [{ name: "plane", context: { cluster: "plane", user: "u", namespace: ns } }],
    }),
  );
  return file;
}

function clientFor(user: Record<string, unknown>) {
  return createKubeClient(resolveConnection({ env: { KUBECONFIG: kubeconfigFor(user) } }));
}

const tokenUser = () => ({ token: plane.token });

/**
 * `waitForRollout` of the test namespace's `kind` `name` to `targetCount`, as the token user
 * unless `client` is given, its progress recorded unless `options` names a reporter.
 */
const rollout = (
  kind: "Deployment" | "StatefulSet",
  name: string,
  targetCount: number,
  options: Omit<Parameters<typeof waitForRollout>[2], "reporter"> & { reporter?: ProgressReporter },
  client = clientFor(tokenUser()),
) =>
  waitForRollout(
    client,
    { namespace: ns, kind, name, targetCount },
    { reporter: recorder().reporter, ...options },
  );
const scale = (kind: "Deployment" | "StatefulSet", name: string, replicas: number) =>
  admin.mergePatch(workloadPath(ns, kind, name), { spec: { replicas } });

describe("waitForRollout down, against the real API server", () => {
  it("waits until the last terminating pod is gone, although the controller reports 0 at once", async () => {
    await createReadyWorkload(admin, "Deployment", ns, "tines-app", 2, {
      podFinalizers: ["tines.test/hold"],
    });
    await scale("Deployment", "tines-app", 0);
    // The pods are now terminating, held by their finalizer, while the Deployment's
    // counters already say 0: a wait on the counters alone would pass here.
    await waitUntil(async () => {
      const w = await admin.get<{ status?: { replicas?: number } }>(
        workloadPath(ns, "Deployment", "tines-app"),
      );
      return (w?.status?.replicas ?? 0) === 0;
    }, 30_000);
    const { lines, reporter } = recorder();
    const waiting = rollout("Deployment", "tines-app", 0, { timeoutSeconds: 60, pollSeconds: 0.2, reporter });
    await waitUntil(async () => lines.length > 0, 10_000);
    expect(lines[0]).toMatch(
      new RegExp(
        `^info Deployment ${ns}/tines-app: 2 pod\\(s\\) left, waiting for 2 pod\\(s\\) to terminate; (1m00s|59s) left$`,
      ),
    );
    await releasePods(admin, ns, "app.kubernetes.io/name=tines-app");

    const result = await waiting;
    expect(result).toMatchObject({ reachedCount: 0, readyReplicas: 0 });
    expect(result.hpa).toBeUndefined();
    expect(lines.at(-1)).toMatch(new RegExp(`^info Deployment ${ns}/tines-app: no pods left after \\d+s$`));
    expect(await admin.list(`/api/v1/namespaces/${ns}/pods`, "app.kubernetes.io/name=tines-app")).toEqual([]);
  });

  it("sees the last pod gone within seconds, not at the next poll of a long interval", async () => {
    await createReadyWorkload(admin, "Deployment", ns, "quick", 2, { podFinalizers: ["tines.test/hold"] });
    await scale("Deployment", "quick", 0);
    const { lines, reporter } = recorder();
    // With a flat 30 s cadence the first re-check would come 30 s after the first look.
    const waiting = rollout("Deployment", "quick", 0, { timeoutSeconds: 120, pollSeconds: 30, reporter });
    await waitUntil(async () => lines.length > 0, 10_000);
    await releasePods(admin, ns, "app.kubernetes.io/name=quick");
    const released = Date.now();
    await waitUntil(
      async () =>
        (await admin.list(`/api/v1/namespaces/${ns}/pods`, "app.kubernetes.io/name=quick")).length === 0,
      30_000,
    );
    const gone = Date.now();
    await waiting;
    // The pods went (gone - released) after the release; the wait saw it within a few polls.
    expect(Date.now() - gone).toBeLessThan(10_000);
    expect(Date.now() - released).toBeLessThan(20_000);
  });

  it("polls a quarter second after the first look, doubling up to the configured interval", () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => pollDelayMs(a, 5000))).toEqual([
      250, 500, 1000, 2000, 4000, 5000, 5000,
    ]);
    expect(pollDelayMs(0, 200)).toBe(200);
    expect(pollDelayMs(1000, 5000)).toBe(5000);
  });

  it("fails after the timeout with what it still waits for", async () => {
    await createReadyWorkload(admin, "Deployment", ns, "stuck", 1, { podFinalizers: ["tines.test/hold"] });
    await scale("Deployment", "stuck", 0);
    const error = await rollout("Deployment", "stuck", 0, { timeoutSeconds: 2, pollSeconds: 0.5 }).catch(
      (e: unknown) => e,
    );
    await releasePods(admin, ns, "app.kubernetes.io/name=stuck");
    expect(error).toBeInstanceOf(MaintenanceError);
    expect((error as Error).message).toBe(
      `Deployment ${ns}/stuck did not reach 0 replica(s) within 2s: still waiting for 1 pod(s) to terminate ` +
        `(1 pod(s), 0 ready); raise tines-maintenance:stepTimeoutSeconds or check the pods (kubectl -n ${ns} get pods)`,
    );
  });

  it("names the workload and the config keys when it does not exist", async () => {
    const error = await rollout("Deployment", "nginx", 0, { timeoutSeconds: 60 }).catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      `Deployment ${ns}/nginx not found; set services.<key>.name / kind to the workload's name and kind`,
    );
  });

  it("reports a refused token in one line without printing it", async () => {
    const error = await rollout(
      "Deployment",
      "tines-app",
      0,
      { timeoutSeconds: 60 },
      clientFor({ token: "wrong-secret-token" }),
    ).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      /^Kubernetes API GET \/api\S* \(context plane\): HTTP 401 Unauthorized$/,
    );
    expect((error as Error).message).not.toContain("wrong-secret-token");
  });
});

describe("waitForRollout up, against the real API server", () => {
  it("waits for every replica to be ready, authenticating with an exec credential plugin", async () => {
    await createReadyWorkload(admin, "Deployment", ns, "tines-sidekiq", 1);
    await scale("Deployment", "tines-sidekiq", 0);
    await waitUntil(
      async () =>
        (await admin.list(`/api/v1/namespaces/${ns}/pods`, "app.kubernetes.io/name=tines-sidekiq")).length ===
        0,
      30_000,
    );
    await scale("Deployment", "tines-sidekiq", 3);
    const plugin = join(dir, "credential.js");
    writeFileSync(
      plugin,
      `process.stdout.write(JSON.stringify({apiVersion:"client.authentication.k8s.io/v1beta1",kind:"ExecCredential",status:{token:${JSON.stringify(plane.token)}}}))`,
    );
    const { lines, reporter } = recorder();
    const result = await waitForRollout(
      clientFor({
        exec: {
          apiVersion: "client.authentication.k8s.io/v1beta1",
          command: process.execPath,
          args: [plugin],
        },
      }),
      { namespace: ns, kind: "Deployment", name: "tines-sidekiq", targetCount: 3 },
      { timeoutSeconds: 60, pollSeconds: 0.2, reporter },
    );
    expect(result).toMatchObject({ reachedCount: 3, readyReplicas: 3 });
    expect(lines.at(-1)).toMatch(new RegExp(`^info Deployment ${ns}/tines-sidekiq: 3/3 ready after \\d+s$`));
    const live = await admin.get<{ status: { readyReplicas: number } }>(
      workloadPath(ns, "Deployment", "tines-sidekiq"),
    );
    expect(live?.status.readyReplicas).toBe(3);
  });

  it("times out naming the replicas that never become ready (pods that cannot be scheduled)", async () => {
    await admin.create(`/apis/apps/v1/namespaces/${ns}/deployments`, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "unschedulable" },
      spec: {
        replicas: 2,
        selector: { matchLabels: { "app.kubernetes.io/name": "unschedulable" } },
        template: {
          metadata: { labels: { "app.kubernetes.io/name": "unschedulable" } },
          spec: { nodeSelector: { "no-such-node": "x" }, containers: [{ name: "main", image: "x" }] },
        },
      },
    });
    const error = await rollout("Deployment", "unschedulable", 2, {
      timeoutSeconds: 2,
      pollSeconds: 0.5,
    }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^Deployment ${ns}/unschedulable did not reach 2 replica\\(s\\) within 2s: still waiting for 2 replica\\(s\\) to become ready \\(0/2\\)`,
      ),
    );
  });

  it("scales a StatefulSet down and up, waiting for each pod", async () => {
    await createReadyWorkload(admin, "StatefulSet", ns, "redis", 2);
    await scale("StatefulSet", "redis", 0);
    const down = await rollout("StatefulSet", "redis", 0, { timeoutSeconds: 60, pollSeconds: 0.2 });
    expect(down.reachedCount).toBe(0);
    expect(await admin.list(`/api/v1/namespaces/${ns}/pods`, "app.kubernetes.io/name=redis")).toEqual([]);
    await scale("StatefulSet", "redis", 2);
    const up = await rollout("StatefulSet", "redis", 2, { timeoutSeconds: 60, pollSeconds: 0.2 });
    expect(up).toMatchObject({ reachedCount: 2, readyReplicas: 2 });
  });
});

describe("HorizontalPodAutoscaler through a window, on the real controller", () => {
  it("is detected and recorded; at 0 replicas it is disabled; on the way up it lifts the count to minReplicas", async () => {
    await createReadyWorkload(admin, "Deployment", ns, "web", 3);
    await admin.create(`/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers`, {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "web" },
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
        minReplicas: 2,
        maxReplicas: 5,
        metrics: [
          {
            type: "Resource",
            resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } },
          },
        ],
      },
    });
    const { lines, reporter } = recorder();

    await scale("Deployment", "web", 0);
    const down = await rollout("Deployment", "web", 0, { timeoutSeconds: 60, pollSeconds: 0.2, reporter });
    expect(down.hpa).toEqual({ name: "web", minReplicas: 2, maxReplicas: 5 });
    // The HPA controller (sync every 2 s here) sees the target at 0 and disables itself.
    await waitUntil(
      async () => {
        const hpa = await admin.get<{
          status?: { conditions?: Array<{ type: string; status: string; reason: string }> };
        }>(`/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers/web`);
        return (
          hpa?.status?.conditions?.some(
            (c) => c.type === "ScalingActive" && c.status === "False" && c.reason === "ScalingDisabled",
          ) ?? false
        );
      },
      30_000,
      undefined,
      "HPA condition ScalingActive=False ScalingDisabled",
    );
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const stillDown = await admin.get<{ spec: { replicas: number } }>(workloadPath(ns, "Deployment", "web"));
    expect(stillDown?.spec.replicas).toBe(0);
    expect(lines.filter((l) => l.startsWith("warn"))).toEqual([]);

    // Restoring 1 (below minReplicas 2): the wait warns first, then the HPA lifts it to 2.
    await scale("Deployment", "web", 1);
    const up = await rollout("Deployment", "web", 1, { timeoutSeconds: 60, pollSeconds: 0.2, reporter });
    expect(lines).toContain(
      `warn HorizontalPodAutoscaler web (min 2, max 5) targets web: it will move the restored count 1 into [2, 5]`,
    );
    expect(up.hpa).toEqual({ name: "web", minReplicas: 2, maxReplicas: 5 });
    await waitUntil(
      async () =>
        (await admin.get<{ spec: { replicas: number } }>(workloadPath(ns, "Deployment", "web")))?.spec
          .replicas === 2,
      30_000,
      undefined,
      "the HPA to raise web to minReplicas 2",
    );
  });
});

describe("resolveConnection", () => {
  it("names kubernetes.context and the contexts that exist when the context is unknown", () => {
    const file = kubeconfigFor(tokenUser());
    expect(() => resolveConnection({ env: { KUBECONFIG: file }, context: "prod" })).toThrow(ConfigError);
    expect(() => resolveConnection({ env: { KUBECONFIG: file }, context: "prod" })).toThrow(
      'tines-maintenance:kubernetes.context: unknown context "prod"; allowed: plane',
    );
  });

  it("merges a KUBECONFIG path list, first file wins, missing files skipped, and the result reaches the server", async () => {
    const first = kubeconfigFor({ token: plane.token });
    const second = kubeconfigFor({ token: "from-second" });
    const connection = resolveConnection({
      env: { KUBECONFIG: [join(dir, "missing"), first, second].join(":") },
    });
    expect(connection).toMatchObject({ source: "context plane", server: plane.server, token: plane.token });
    expect(connection.ca?.toString()).toBe(plane.caPem);
    const namespace = await createKubeClient(connection).get<{ metadata: { name: string } }>(
      `/api/v1/namespaces/${ns}`,
    );
    expect(namespace?.metadata.name).toBe(ns);
  });

  it("authenticates with the client certificate of the plane's own kubeconfig", async () => {
    const client = createKubeClient(resolveConnection({ env: { KUBECONFIG: plane.kubeconfig } }));
    expect(
      (await client.get<{ metadata: { name: string } }>(`/api/v1/namespaces/${ns}`))?.metadata.name,
    ).toBe(ns);
  });

  it("falls back to the in-cluster service account, reading the token file on every request", async () => {
    const saDir = join(dir, "sa");
    mkdirSync(saDir, { recursive: true });
    writeFileSync(join(saDir, "token"), `${plane.token}\n`);
    writeFileSync(join(saDir, "ca.crt"), plane.caPem);
    const url = new URL(plane.server);
    const connection = resolveConnection({
      env: {
        KUBECONFIG: join(dir, "none"),
        KUBERNETES_SERVICE_HOST: url.hostname,
        KUBERNETES_SERVICE_PORT: url.port,
      },
      serviceAccountDir: saDir,
    });
    expect(connection).toMatchObject({
      source: "in-cluster",
      server: plane.server,
      tokenFile: join(saDir, "token"),
    });
    const client = createKubeClient(connection);
    expect(await client.get(`/api/v1/namespaces/${ns}`)).toBeDefined();
    writeFileSync(join(saDir, "token"), "rotated-away\n");
    await expect(client.get(`/api/v1/namespaces/${ns}`)).rejects.toThrow(/HTTP 401/);
    expect(() =>
      resolveConnection({ env: { KUBECONFIG: join(dir, "none") }, serviceAccountDir: saDir }),
    ).toThrow(/no kubeconfig found .* and not running in a cluster/);
  });
});
