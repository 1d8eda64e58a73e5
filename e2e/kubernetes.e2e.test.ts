/**
 * The whole program under the real Pulumi CLI, platform kubernetes, on a real control plane
 * (etcd, kube-apiserver, controller-manager, scheduler, kwok: testkit/servers/kubernetes.ts; the
 * run's one plane, in a namespace of its own), with the real pulumi-resource-kubernetes plugin
 * and the policy pack. The workloads are
 * installed by the real `helm` from a chart shaped like Tines' own. One stack goes through
 * preview, shutdown with an endpoint switch, startup and a `helm upgrade` afterwards.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toolPrefix } from "../testkit/goTools";
import { Helm } from "../testkit/helm";
import { sharedPlane, uniqueNamespace, waitUntil, workloadPath } from "../testkit/servers/kubernetes";
import {
  TEST_REDIS_USER_PASSWORD,
  startPostgres,
  startRedis,
  type RunningServer,
} from "../testkit/servers/localServers";
import { quickDrainConfig, tinesRedisUrl } from "./stackConfig";
import { PulumiStack, type CliResult } from "../testkit/pulumiCli";

const NS = uniqueNamespace("tines");
const RELEASE = "tines";
type Kind = "Deployment" | "StatefulSet";
/** Scale-down order of the seed, with each workload's kind in the chart. */
const WORKLOADS: Array<{ key: string; kind: Kind }> = [
  { key: "tines-app", kind: "Deployment" },
  { key: "tines-sidekiq", kind: "Deployment" },
  { key: "tines-command-runner", kind: "Deployment" },
  { key: "redis", kind: "StatefulSet" },
  { key: "postgres", kind: "StatefulSet" },
  { key: "pypi-server", kind: "Deployment" },
];
/**
 * The stack's running counts. tines-app is HPA-managed (the chart renders no replicas; the
 * HPA's minReplicas 2 set it to 2); tines-command-runner runs 2 although the chart says 1,
 * to show what a later `helm upgrade` does to a count the chart renders.
 */
const COUNTS: Record<string, number> = {
  "tines-app": 3,
  "tines-sidekiq": 3,
  "tines-command-runner": 2,
  redis: 1,
  postgres: 1,
  "pypi-server": 1,
};
const OLD_DATABASE_HOST = "postgres.tines.svc.cluster.local";
const OLD_REDIS_URL = "redis://redis.tines.svc.cluster.local:6379/0";

interface LiveWorkload {
  metadata: { generation: number; resourceVersion: string; managedFields?: Array<{ manager: string }> };
  spec: { replicas?: number };
  status?: { readyReplicas?: number; replicas?: number };
}

/** When each workload's spec.replicas reached the target, and its pods gone / all ready. */
interface Timeline {
  scaled: Record<string, number>;
  settled: Record<string, number>;
}

describe("kubernetes on a real control plane, helm-installed workloads, real Pulumi CLI", () => {
  let plane: ReturnType<typeof sharedPlane>;
  let helm: Helm;
  let servers: RunningServer[] = [];
  let stack: PulumiStack;
  let newRedisUrl: string;
  let pgPort: number;
  const outputs: string[] = [];

  const workload = async (key: string) => {
    const kind = WORKLOADS.find((w) => w.key === key)!.kind;
    return (await plane.client.get<LiveWorkload>(workloadPath(NS, kind, key)))!;
  };
  const pods = (key: string) =>
    plane.client.list<{ metadata: { deletionTimestamp?: string } }>(
      `/api/v1/namespaces/${NS}/pods`,
      `app.kubernetes.io/name=${key}`,
    );
  const replicas = async () =>
    Object.fromEntries(
      await Promise.all(WORKLOADS.map(async ({ key }) => [key, (await workload(key)).spec.replicas])),
    );
  const secretValues = async () => {
    const secret = await plane.client.get<{ data: Record<string, string> }>(
      `/api/v1/namespaces/${NS}/secrets/${RELEASE}-env`,
    );
    return Object.fromEntries(
      Object.entries(secret!.data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
    );
  };
  const hpaScalingActive = async () => {
    const hpa = await plane.client.get<{
      status?: { conditions?: Array<{ type: string; status: string; reason: string }> };
    }>(`/apis/autoscaling/v2/namespaces/${NS}/horizontalpodautoscalers/tines-app`);
    return hpa?.status?.conditions?.find((c) => c.type === "ScalingActive");
  };

  /** Polls every workload while `pulumi up` runs: when it was scaled, when it settled. */
  function watch(direction: "down" | "up"): { stop: () => Promise<Timeline> } {
    const timeline: Timeline = { scaled: {}, settled: {} };
    let running = true;
    const loop = (async () => {
      while (running) {
        await Promise.all(
          WORKLOADS.map(async ({ key }) => {
            const w = await workload(key);
            const now = Date.now();
            const target = direction === "down" ? 0 : COUNTS[key];
            if (timeline.scaled[key] === undefined && w.spec.replicas === target) timeline.scaled[key] = now;
            if (timeline.scaled[key] !== undefined && timeline.settled[key] === undefined) {
              const settled =
                direction === "down"
                  ? (await pods(key)).length === 0
                  : (w.status?.readyReplicas ?? 0) >= target;
              if (settled) timeline.settled[key] = now;
            }
          }),
        );
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
        return timeline;
      },
    };
  }

  function report(step: string, result: CliResult, timeline?: Timeline) {
    const output = result.stdout + result.stderr;
    outputs.push(output);
    console.log(`--- ${step}: exit ${result.code} in ${result.seconds.toFixed(1)} s`);
    if (timeline) {
      const waits = WORKLOADS.map(
        ({ key }) => (timeline.settled[key] ?? NaN) - (timeline.scaled[key] ?? NaN),
      );
      const total = waits.reduce((a, b) => a + b, 0) / 1000;
      console.log(
        `    platform's own wait per step (ms, spec.replicas set -> pods gone/ready): ${WORKLOADS.map(
          ({ key }, i) => `${key} ${waits[i]}`,
        ).join(", ")}; total ${total.toFixed(1)} s of ${result.seconds.toFixed(1)} s`,
      );
    }
    const diagnostics = output.indexOf("Diagnostics:");
    if (diagnostics >= 0) console.log(output.slice(diagnostics, diagnostics + 6000));
  }

  beforeAll(async () => {
    const [pg, redis] = await Promise.all([startPostgres("e2e-k8s-new-db"), startRedis()]);
    servers = [pg, redis];
    pgPort = Number(new URL(pg.url).port);
    newRedisUrl = tinesRedisUrl(redis);
    plane = sharedPlane();
    console.log(`e2e: control plane ${plane.server}, namespace ${NS}`);

    helm = new Helm(plane.kubeconfig);
    await helm.upgradeInstall(RELEASE, NS, {
      "tinesApp.databaseConfiguration.DATABASE_HOST": OLD_DATABASE_HOST,
      "tinesApp.redisConfiguration.REDIS_URL": OLD_REDIS_URL,
    });
    // The chart's counts; tines-app has none and its HPA lifts the API's default 1 to 2.
    const chartCounts: Record<string, number> = { ...COUNTS, "tines-app": 2, "tines-command-runner": 1 };
    await waitUntil(
      async () => {
        for (const { key } of WORKLOADS) {
          const w = await workload(key);
          if (w.spec.replicas !== chartCounts[key] || (w.status?.readyReplicas ?? 0) !== chartCounts[key])
            return false;
        }
        return true;
      },
      90_000,
      undefined,
      "the helm release's workloads to be ready",
    );
    // The operator's count for the command runner differs from the chart's.
    await plane.client.mergePatch(workloadPath(NS, "Deployment", "tines-command-runner"), {
      spec: { replicas: 2 },
    });

    stack = new PulumiStack({
      stack: "e2e-k8s",
      env: { KUBECONFIG: plane.kubeconfig },
      pathDirs: [path.join(toolPrefix("pulumi-kubernetes"), "bin")],
    });
    console.log(`e2e: Pulumi CLI from ${stack.binDir}; stack dir ${stack.dir}`);
    await stack.init();
    await stack.setConfig({
      phase: "shutdown",
      platform: "kubernetes",
      "kubernetes.namespace": NS,
      ...Object.fromEntries(
        WORKLOADS.map(({ key, kind }) =>
          kind === "StatefulSet"
            ? [
                [`services.${key}.count`, COUNTS[key]],
                [`services.${key}.kind`, kind],
              ]
            : [[`services.${key}`, COUNTS[key]]],
        ).flat(),
      ),
      stepTimeoutSeconds: 120,
      ...quickDrainConfig(30),
      "sidekiq.preflightSeconds": 2,
      "endpoints.databaseHost": "127.0.0.1",
      "endpoints.databasePort": pgPort,
      "endpoints.target.kind": "kubernetes-secret",
      "endpoints.target.name": `${RELEASE}-env`,
      "endpoints.propagation.intervalSeconds": 1,
      "endpoints.propagation.timeoutSeconds": 30,
    });
    await stack.setSecret("sidekiq.redisUrl", `redis://127.0.0.1:${new URL(redis.url).port}/0`);
    await stack.setSecret("endpoints.redisUrl", newRedisUrl);
  }, 600_000);

  afterAll(async () => {
    await plane?.client.delete(`/api/v1/namespaces/${NS}`);
    helm?.cleanup();
    await Promise.all(servers.map((s) => s.stop()));
    if (stack && !process.env.E2E_KEEP) stack.remove();
    else if (stack) console.log(`e2e: kept ${stack.dir}`);
  });

  it("a. preview with the policy pack shows every step and touches nothing", async () => {
    const before = await Promise.all(WORKLOADS.map(({ key }) => workload(key)));
    const secretBefore = await plane.client.get<{ metadata: { resourceVersion: string } }>(
      `/api/v1/namespaces/${NS}/secrets/${RELEASE}-env`,
    );
    const result = await stack.preview();
    report("preview (shutdown)", result);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    for (const { key } of WORKLOADS) expect(result.stdout).toContain(`::${key}]`);
    expect(result.stdout).toContain("::sidekiq-drain]");
    expect(result.stdout).toContain("::endpoint-switch]");
    const after = await Promise.all(WORKLOADS.map(({ key }) => workload(key)));
    after.forEach((w, i) => {
      expect(w.metadata.generation).toBe(before[i].metadata.generation);
      expect(w.spec.replicas).toBe(before[i].spec.replicas);
      expect(w.metadata.managedFields?.map((f) => f.manager)).toEqual(
        before[i].metadata.managedFields?.map((f) => f.manager),
      );
    });
    const secretAfter = await plane.client.get<{ metadata: { resourceVersion: string } }>(
      `/api/v1/namespaces/${NS}/secrets/${RELEASE}-env`,
    );
    expect(secretAfter?.metadata.resourceVersion).toBe(secretBefore?.metadata.resourceVersion);
  });

  it("b. shutdown scales down in the seed's order, each step after the last pod of the one before is gone; then switches the endpoints", async () => {
    const watcher = watch("down");
    const result = await stack.up("e2e: k8s shutdown");
    const timeline = await watcher.stop();
    report("up (shutdown)", result, timeline);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(await replicas()).toEqual(Object.fromEntries(WORKLOADS.map(({ key }) => [key, 0])));
    for (const { key } of WORKLOADS) expect(await pods(key)).toEqual([]);
    for (let i = 1; i < WORKLOADS.length; i++) {
      const previous = WORKLOADS[i - 1].key;
      const next = WORKLOADS[i].key;
      expect(timeline.settled[previous], `${previous} settled`).toBeDefined();
      expect(
        timeline.scaled[next],
        `${next} scaled after ${previous}'s pods were gone`,
      ).toBeGreaterThanOrEqual(timeline.settled[previous]);
    }
    expect(await secretValues()).toEqual({ DATABASE_HOST: "127.0.0.1", REDIS_URL: newRedisUrl });
    const services = (await stack.outputs()).services as Array<{ name: string; previousCount?: number }>;
    expect(services.find((s) => s.name === "tines-app")?.previousCount).toBe(2);
    expect(services.find((s) => s.name === "tines-command-runner")?.previousCount).toBe(2);
  });

  it("c. through the window the HPA leaves tines-app at 0 (ScalingDisabled)", async () => {
    await waitUntil(
      async () => (await hpaScalingActive())?.reason === "ScalingDisabled",
      30_000,
      undefined,
      "HPA tines-app ScalingActive=False reason ScalingDisabled",
    );
    // Several HPA sync periods (2 s on this plane).
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    expect((await workload("tines-app")).spec.replicas).toBe(0);
    expect(await pods("tines-app")).toEqual([]);
  });

  it("d. startup restores the exact counts in reverse order, each step after the one before is ready", async () => {
    await stack.setConfig({ phase: "running" });
    const watcher = watch("up");
    const result = await stack.up("e2e: k8s startup");
    const timeline = await watcher.stop();
    report("up (running)", result, timeline);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(await replicas()).toEqual(COUNTS);
    const reversed = [...WORKLOADS].reverse();
    for (let i = 1; i < reversed.length; i++) {
      const previous = reversed[i - 1].key;
      const next = reversed[i].key;
      expect(timeline.scaled[next], `${next} scaled after ${previous} was ready`).toBeGreaterThanOrEqual(
        timeline.settled[previous],
      );
    }
    for (const { key } of WORKLOADS) expect((await workload(key)).status?.readyReplicas).toBe(COUNTS[key]);
    // The HPA is active again and, with 3 inside [2, 5] and no metrics to act on, leaves it.
    await waitUntil(
      async () => (await hpaScalingActive())?.reason !== "ScalingDisabled",
      30_000,
      undefined,
      "HPA tines-app active again",
    );
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect((await workload("tines-app")).spec.replicas).toBe(3);
  });

  it("e. a `helm upgrade` with unchanged values puts the chart's counts and the old endpoints back, as the README says", async () => {
    await helm.upgradeInstall(RELEASE, NS, {
      "tinesApp.databaseConfiguration.DATABASE_HOST": OLD_DATABASE_HOST,
      "tinesApp.redisConfiguration.REDIS_URL": OLD_REDIS_URL,
    });
    expect(await secretValues()).toEqual({ DATABASE_HOST: OLD_DATABASE_HOST, REDIS_URL: OLD_REDIS_URL });
    const counts = await replicas();
    // The chart renders replicas for the command runner (1): helm sets it back.
    expect(counts["tines-command-runner"]).toBe(1);
    // tines-app's replicas are the HPA's: the chart renders none, so helm leaves them.
    expect(counts["tines-app"]).toBe(3);
    expect(counts["tines-sidekiq"]).toBe(3);
  });

  it("f. a `helm upgrade` with the new endpoints and counts in the values keeps both", async () => {
    await helm.upgradeInstall(RELEASE, NS, {
      "tinesApp.databaseConfiguration.DATABASE_HOST": "127.0.0.1",
      "tinesApp.redisConfiguration.REDIS_URL": newRedisUrl,
      "commandRunner.replicaCount": 2,
    });
    expect(await secretValues()).toEqual({ DATABASE_HOST: "127.0.0.1", REDIS_URL: newRedisUrl });
    expect(await replicas()).toEqual(COUNTS);
  });

  it("f2. drift: a hand-made scale shows in `preview --refresh`, changes nothing there, and `up --refresh` undoes it", async () => {
    const runner = workloadPath(NS, "Deployment", "tines-command-runner");
    await plane.client.mergePatch(runner, { spec: { replicas: 5 } });
    const plain = await stack.preview();
    expect(plain.code, plain.stdout + plain.stderr).toBe(0);
    const refreshed = await stack.preview(["--refresh"]);
    outputs.push(refreshed.stdout, refreshed.stderr);
    expect(refreshed.code, refreshed.stdout + refreshed.stderr).toBe(0);
    // The refresh reads the live object; the update part of the preview shows the way back.
    expect(refreshed.stdout).toMatch(/replicas\s*:\s*5\s*=>\s*2/);
    expect((await workload("tines-command-runner")).spec.replicas).toBe(5);

    const result = await stack.up("e2e: k8s up --refresh after a hand-made scale", ["--refresh"]);
    outputs.push(result.stdout, result.stderr);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(await replicas()).toEqual(COUNTS);
  });

  it("g. the Redis password is nowhere in plain text: state, outputs, CLI output", async () => {
    const texts = [
      JSON.stringify(await stack.outputs()),
      readFileSync(stack.stateFile(), "utf8"),
      ...outputs,
    ];
    for (const text of texts) expect(text).not.toContain(TEST_REDIS_USER_PASSWORD);
  });

  it("h. no copy of the kubeconfig (the plane's client key) is left on disk: the runs' TMPDIR is empty", () => {
    expect(stack.leftInTmp()).toEqual([]);
  });
});
