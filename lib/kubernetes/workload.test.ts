import { describe, expect, it } from "vitest";
import {
  createReadyWorkload,
  releasePods,
  waitUntil,
  workloadPath,
  type KubeTestClient,
} from "../../testkit/servers/kubernetes";
import { withNamespace } from "../../testkit/kubeNamespace";
import {
  findHpa,
  gracePeriodWarning,
  hpaNotice,
  livePods,
  rolloutState,
  selectorString,
  type HorizontalPodAutoscaler,
  type Pod,
  type Workload,
} from "./workload";

// Every object these pure functions read here comes from the real API server, as the
// rollout wait reads it: what the server defaults, omits and reports is what is tested.
let admin: KubeTestClient;
let ns: string;

withNamespace("workload", (space) => ({ admin, ns } = space));

const pods = (selector: string) => admin.list<Pod>(`/api/v1/namespaces/${ns}/pods`, selector);
const workload = async (kind: "Deployment" | "StatefulSet", name: string) =>
  (await admin.get<Workload>(workloadPath(ns, kind, name)))!;

/** A new pod template for StatefulSet `name`, resolved once the controller has made it the update revision. */
async function changeTemplate(name: string): Promise<void> {
  await admin.mergePatch(workloadPath(ns, "StatefulSet", name), {
    spec: { template: { metadata: { annotations: { "tines.test/rev": "2" } } } },
  });
  await waitUntil(async () => {
    const s = await workload("StatefulSet", name);
    return !!s.status?.updateRevision && s.status.updateRevision !== s.status.currentRevision;
  }, 30_000);
}

describe("selectorString, as the API server's labelSelector parameter reads it", () => {
  it("selects exactly the pods matchLabels and matchExpressions select", async () => {
    const pod = (name: string, labels: Record<string, string>) =>
      admin.create(`/api/v1/namespaces/${ns}/pods`, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, labels },
        spec: { nodeSelector: { "no-such-node": "x" }, containers: [{ name: "main", image: "x" }] },
      });
    await pod("sel-a", { app: "sel", tier: "worker", b: "1" });
    await pod("sel-b", { app: "sel", tier: "jobs", b: "1", c: "1" });
    await pod("sel-c", { app: "sel", tier: "web", b: "1" });
    await pod("sel-d", { app: "sel", tier: "worker" });
    const names = async (selector: string) => (await pods(selector)).map((p) => p.metadata.name).sort();

    const inSet = selectorString({
      matchLabels: { app: "sel" },
      matchExpressions: [{ key: "tier", operator: "In", values: ["worker", "jobs"] }],
    });
    expect(inSet).toBe("app=sel,tier in (worker,jobs)");
    expect(await names(inSet)).toEqual(["sel-a", "sel-b", "sel-d"]);
    const others = selectorString({
      matchLabels: { app: "sel" },
      matchExpressions: [
        { key: "tier", operator: "NotIn", values: ["web"] },
        { key: "b", operator: "Exists" },
        { key: "c", operator: "DoesNotExist" },
      ],
    });
    expect(others).toBe("app=sel,tier notin (web),b,!c");
    expect(await names(others)).toEqual(["sel-a"]);
  });

  it("refuses an empty selector, which would match every pod in the namespace", () => {
    expect(() => selectorString({})).toThrow(/empty pod selector/);
  });
});

describe("rolloutState on objects read during a real scale-down", () => {
  it("is not done while a pod is terminating, although the controller already reports 0 replicas", async () => {
    await createReadyWorkload(admin, "Deployment", ns, "app", 2, { podFinalizers: ["tines.test/hold"] });
    await admin.mergePatch(workloadPath(ns, "Deployment", "app"), { spec: { replicas: 0 } });
    await waitUntil(async () => {
      const w = await workload("Deployment", "app");
      return (w.status?.observedGeneration ?? 0) >= (w.metadata.generation ?? 0) && !w.status?.replicas;
    }, 30_000);
    const down = await workload("Deployment", "app");
    const terminating = await pods("app.kubernetes.io/name=app");
    // The counters say "done": the server omits status.replicas at 0.
    expect(down.status?.replicas).toBeUndefined();
    expect(terminating.every((p) => p.metadata.deletionTimestamp)).toBe(true);
    const state = rolloutState(down, terminating, 0);
    expect(state).toMatchObject({
      done: false,
      desired: 0,
      podsLeft: 2,
      waitingFor: "2 pod(s) to terminate",
    });

    await releasePods(admin, ns, "app.kubernetes.io/name=app");
    await waitUntil(async () => (await pods("app.kubernetes.io/name=app")).length === 0, 30_000);
    expect(rolloutState(await workload("Deployment", "app"), [], 0)).toMatchObject({
      done: true,
      podsLeft: 0,
    });
  });

  it("ignores pods in a terminal phase (Failed, Succeeded), which run nothing", async () => {
    await createReadyWorkload(admin, "Deployment", ns, "evicted", 2);
    const [first, second] = await pods("app.kubernetes.io/name=evicted");
    // What the kubelet reports for an evicted pod, through the status subresource.
    await admin.mergePatch(`/api/v1/namespaces/${ns}/pods/${first.metadata.name}/status`, {
      status: { phase: "Failed", reason: "Evicted" },
    });
    await waitUntil(
      async () => (await pods("app.kubernetes.io/name=evicted")).some((p) => p.status?.phase === "Failed"),
      10_000,
    );
    const live = livePods(await pods("app.kubernetes.io/name=evicted")).map((p) => p.metadata.name);
    expect(live).toContain(second.metadata.name);
    expect(live).not.toContain(first.metadata.name);
  });

  it("waits for the patch to land and for the controller to observe it", async () => {
    await createReadyWorkload(admin, "Deployment", ns, "slow", 1);
    const before = await workload("Deployment", "slow");
    expect(rolloutState(before, [], 0)).toMatchObject({
      done: false,
      waitingFor: "spec.replicas to become 0 (is 1)",
    });
    // The object as the PATCH returns it: generation bumped, not yet observed.
    const patched = await admin.mergePatch<Workload>(workloadPath(ns, "Deployment", "slow"), {
      spec: { replicas: 0 },
    });
    expect(patched.metadata.generation).toBeGreaterThan(patched.status?.observedGeneration ?? 0);
    expect(rolloutState(patched, [], 0).waitingFor).toBe("the controller to observe the new generation");
  });
});

describe("rolloutState on the way up", () => {
  it("is done when every desired replica is updated and ready, and not before", async () => {
    await createReadyWorkload(admin, "Deployment", ns, "up", 1);
    const patched = await admin.mergePatch<Workload>(workloadPath(ns, "Deployment", "up"), {
      spec: { replicas: 3 },
    });
    expect(rolloutState(patched, [], 3).done).toBe(false);
    await waitUntil(async () => rolloutState(await workload("Deployment", "up"), [], 3).done, 30_000);
    expect(rolloutState(await workload("Deployment", "up"), [], 3)).toMatchObject({ desired: 3, ready: 3 });
    // An HPA (or anyone) moving the count: the live spec.replicas is what was reached.
    expect(rolloutState(await workload("Deployment", "up"), [], 2)).toMatchObject({ done: true, desired: 3 });
  });

  it("waits for a RollingUpdate StatefulSet's update revision to become current", async () => {
    // The pod's finalizer holds the rolling update mid-way: old pod terminating, revision not current.
    await createReadyWorkload(admin, "StatefulSet", ns, "redis-ru", 1, {
      podFinalizers: ["tines.test/hold"],
    });
    await changeTemplate("redis-ru");
    const rolling = await workload("StatefulSet", "redis-ru");
    expect(rolloutState(rolling, [], 1).done).toBe(false);
    // Counters caught up but the revision not yet current: still not done.
    const countersOnly = structuredClone(rolling);
    countersOnly.status = { ...countersOnly.status, updatedReplicas: 1, readyReplicas: 1, replicas: 1 };
    expect(rolloutState(countersOnly, [], 1).waitingFor).toBe(
      `revision ${rolling.status!.updateRevision} to roll out`,
    );
    await releasePods(admin, ns, "app.kubernetes.io/name=redis-ru");
    await waitUntil(async () => rolloutState(await workload("StatefulSet", "redis-ru"), [], 1).done, 30_000);
    const rolled = await workload("StatefulSet", "redis-ru");
    expect(rolled.status?.currentRevision).toBe(rolled.status?.updateRevision);
    await releasePods(admin, ns, "app.kubernetes.io/name=redis-ru");
  });

  it("counts an OnDelete StatefulSet done when its replicas are ready: its currentRevision never moves", async () => {
    await createReadyWorkload(admin, "StatefulSet", ns, "redis", 1, { updateStrategy: "OnDelete" });
    await changeTemplate("redis");
    // Kept running through a window (keepRunning): its pod stays on the old revision, and
    // OnDelete never replaces it. Waiting for "updated" would never end.
    expect(rolloutState(await workload("StatefulSet", "redis"), [], 1)).toMatchObject({
      done: true,
      ready: 1,
    });
    // Scaled 0 -> 1 at startup: the new pod is on the update revision, but OnDelete never
    // sets currentRevision to it (the controller does that for RollingUpdate only).
    await admin.mergePatch(workloadPath(ns, "StatefulSet", "redis"), { spec: { replicas: 0 } });
    await waitUntil(async () => (await pods("app.kubernetes.io/name=redis")).length === 0, 30_000);
    await admin.mergePatch(workloadPath(ns, "StatefulSet", "redis"), { spec: { replicas: 1 } });
    await waitUntil(async () => (await workload("StatefulSet", "redis")).status?.readyReplicas === 1, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const restored = await workload("StatefulSet", "redis");
    expect(restored.status?.currentRevision).not.toBe(restored.status?.updateRevision);
    expect(rolloutState(restored, [], 1)).toMatchObject({ done: true, ready: 1 });
  });

  it("counts a partitioned RollingUpdate done once the pods above the partition are updated", async () => {
    await createReadyWorkload(admin, "StatefulSet", ns, "pg", 2);
    await admin.mergePatch(workloadPath(ns, "StatefulSet", "pg"), {
      spec: {
        updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 1 } },
        template: { metadata: { annotations: { "tines.test/rev": "2" } } },
      },
    });
    await waitUntil(async () => {
      const s = await workload("StatefulSet", "pg");
      return (
        s.status?.updatedReplicas === 1 &&
        s.status.readyReplicas === 2 &&
        (s.status.observedGeneration ?? 0) >= (s.metadata.generation ?? 0)
      );
    }, 30_000);
    const partitioned = await workload("StatefulSet", "pg");
    expect(partitioned.status?.currentRevision).not.toBe(partitioned.status?.updateRevision);
    expect(rolloutState(partitioned, [], 2)).toMatchObject({ done: true, ready: 2 });
  });
});

describe("HPA detection", () => {
  it("finds the HPA by scaleTargetRef kind and name, as the server lists them", async () => {
    const hpa = (name: string, target: string, minReplicas?: number) =>
      admin.create(`/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers`, {
        apiVersion: "autoscaling/v2",
        kind: "HorizontalPodAutoscaler",
        metadata: { name },
        spec: {
          scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: target },
          ...(minReplicas !== undefined ? { minReplicas } : {}),
          maxReplicas: 6,
        },
      });
    await hpa("sidekiq-hpa", "tines-sidekiq", 2);
    await hpa("defaults", "tines-command-runner");
    const hpas = await admin.list<HorizontalPodAutoscaler>(
      `/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers`,
    );
    expect(findHpa(hpas, "Deployment", "tines-sidekiq")?.metadata.name).toBe("sidekiq-hpa");
    expect(findHpa(hpas, "StatefulSet", "tines-sidekiq")).toBeUndefined();
    expect(findHpa(hpas, "Deployment", "tines-app")).toBeUndefined();
    // The server defaults minReplicas to 1.
    expect(findHpa(hpas, "Deployment", "tines-command-runner")?.spec.minReplicas).toBe(1);

    const sidekiq = findHpa(hpas, "Deployment", "tines-sidekiq")!;
    expect(hpaNotice(sidekiq, "tines-sidekiq", 0)).toBeUndefined();
    expect(hpaNotice(sidekiq, "tines-sidekiq", 4)).toBeUndefined();
    expect(hpaNotice(sidekiq, "tines-sidekiq", 1)).toMatch(/move the restored count 1 into \[2, 6\]/);
    expect(hpaNotice(sidekiq, "tines-sidekiq", 9)).toMatch(/into \[2, 6\]/);
  });

  it("warns that minReplicas 0 keeps the HPA active at 0 (refused by this server without HPAScaleToZero)", async () => {
    const created = await admin.raw(
      "POST",
      `/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers`,
      {
        apiVersion: "autoscaling/v2",
        kind: "HorizontalPodAutoscaler",
        metadata: { name: "to-zero" },
        spec: {
          scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "x" },
          minReplicas: 0,
          maxReplicas: 2,
        },
      },
    );
    expect(created.status).toBe(422);
    const toZero: HorizontalPodAutoscaler = {
      metadata: { name: "to-zero" },
      spec: { scaleTargetRef: { kind: "Deployment", name: "x" }, minReplicas: 0, maxReplicas: 2 },
    };
    expect(hpaNotice(toZero, "x", 0)).toMatch(/minReplicas 0 lets it scale the workload up again/);
  });
});

describe("gracePeriodWarning on the pod template the server returns", () => {
  it("accepts the server's default 30 s and a chart's 60 s; warns at 20 s", async () => {
    await admin.create(`/apis/apps/v1/namespaces/${ns}/deployments`, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "grace-default" },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: "grace-default" } },
        template: {
          metadata: { labels: { app: "grace-default" } },
          spec: { containers: [{ name: "m", image: "x" }] },
        },
      },
    });
    const defaulted = (await workload("Deployment", "grace-default")).spec.template?.spec
      ?.terminationGracePeriodSeconds;
    expect(defaulted).toBe(30);
    expect(gracePeriodWarning("tines-sidekiq", defaulted)).toBeUndefined();
    expect(gracePeriodWarning("tines-sidekiq", 60)).toBeUndefined();
    expect(gracePeriodWarning("tines-sidekiq", 20)).toMatch(
      /terminationGracePeriodSeconds is 20s.*at least 30s/,
    );
    expect(gracePeriodWarning("tines-sidekiq", undefined, 60)).toMatch(
      /30s \(Kubernetes default\).*at least 65s/,
    );
  });
});
