/**
 * A real Kubernetes control plane on loopback for tests: etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler and kwok (the fake kubelet: nodes and pods without
 * containers), built by scripts/build-go-tools.sh. Every process is a child of the caller,
 * on free loopback ports, in one temp directory, and stopped by PID in `stop()`.
 *
 * Certificates and keys are made with openssl: a CA, the apiserver's serving certificate for
 * 127.0.0.1, an admin client certificate (group system:masters) and the service-account key
 * pair; a static token file adds a bearer-token user. The kubeconfig written to `kubeconfig`
 * uses the client certificate.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, stopProcess } from "./localServers";
import { toolBin, toolPrefix } from "../goTools";
import { testkitPath } from "../projectRoot";

export interface KubePlaneOptions {
  /**
   * How long kwok keeps a deleted pod before removing it (its pod-delete stage), standing in
   * for a container's shutdown: a rollout wait must see terminating pods. Default 1000 ms.
   */
  podDeleteDelayMs?: number;
  /** kube-controller-manager --horizontal-pod-autoscaler-sync-period; default 2 s (upstream: 15 s). */
  hpaSyncSeconds?: number;
}

export interface KubePlane {
  dir: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** Admin kubeconfig (client certificate, system:masters), current-context `kwok-plane`. */
  kubeconfig: string;
  /** A bearer token the apiserver accepts (user `tester`, group system:masters). */
  token: string;
  caPem: string;
  /** Client for test set-up and checks (the program under test uses its own). */
  client: KubeTestClient;
  /** PIDs of etcd, apiserver, controller-manager, scheduler, kwok. */
  pids: Record<string, number>;
  stop(): Promise<void>;
}

const CONTEXT = "kwok-plane";
export const NODE_NAME = "kwok-node-0";

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

function makeCertificates(dir: string): void {
  openssl(dir, ["genrsa", "-out", "ca.key", "2048"]);
  openssl(dir, [
    "req",
    "-x509",
    "-new",
    "-key",
    "ca.key",
    "-subj",
    "/CN=kwok-plane-ca",
    "-days",
    "2",
    "-out",
    "ca.crt",
  ]);
  const sign = (name: string, subject: string, ext: string) => {
    writeFileSync(path.join(dir, `${name}.ext`), ext);
    openssl(dir, ["genrsa", "-out", `${name}.key`, "2048"]);
    openssl(dir, ["req", "-new", "-key", `${name}.key`, "-subj", subject, "-out", `${name}.csr`]);
    openssl(dir, [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}.crt`,
    ]);
  };
  sign(
    "apiserver",
    "/CN=kube-apiserver",
    "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n",
  );
  sign("admin", "/O=system:masters/CN=admin", "extendedKeyUsage=clientAuth\n");
  openssl(dir, ["genrsa", "-out", "sa.key", "2048"]);
  openssl(dir, ["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"]);
}

function kubeconfigYaml(server: string, dir: string): string {
  const b64 = (file: string) => readFileSync(path.join(dir, file)).toString("base64");
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    "current-context": CONTEXT,
    clusters: [{ name: CONTEXT, cluster: { server, "certificate-authority-data": b64("ca.crt") } }],
    users: [
      {
        name: "admin",
        user: { "client-certificate-data": b64("admin.crt"), "client-key-data": b64("admin.key") },
      },
    ],
    contexts: [{ name: CONTEXT, context: { cluster: CONTEXT, user: "admin" } }],
  });
}

/** kwok's embedded default stages (copied by scripts/go-tools/kwok.sh), pod-delete delayed. */
function kwokStages(podDeleteDelayMs: number): string {
  const stagesDir = path.join(toolPrefix("kwok"), "share", "stages");
  const names = ["node-initialize", "node-heartbeat-with-lease", "pod-ready", "pod-complete", "pod-delete"];
  const present = new Set(readdirSync(stagesDir));
  return names
    .map((name) => {
      if (!present.has(`${name}.yaml`)) throw new Error(`kwok stage ${name}.yaml missing in ${stagesDir}`);
      let text = readFileSync(path.join(stagesDir, `${name}.yaml`), "utf8");
      if (name === "pod-delete" && podDeleteDelayMs > 0) {
        text = text.replace(
          /\n {2}next:\n/,
          `\n  delay:\n    durationMilliseconds: ${podDeleteDelayMs}\n  next:\n`,
        );
        if (!text.includes("durationMilliseconds")) throw new Error("kwok pod-delete stage has no `next:`");
      }
      return text.trim();
    })
    .join("\n---\n");
}

interface Child {
  name: string;
  process: ChildProcess;
  log: string;
}

function logTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, "utf8").trim().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

async function stopChildren(children: Child[]): Promise<void> {
  for (const child of [...children].reverse()) await stopProcess(child.process);
}

export async function startKubePlane(options: KubePlaneOptions = {}): Promise<KubePlane> {
  const binaries = {
    etcd: toolBin("kubernetes", "etcd"),
    apiserver: toolBin("kubernetes", "kube-apiserver"),
    controllerManager: toolBin("kubernetes", "kube-controller-manager"),
    scheduler: toolBin("kubernetes", "kube-scheduler"),
    kwok: toolBin("kwok"),
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), "tines-maint-kube-"));
  const children: Child[] = [];
  const spawnLogged = (
    name: string,
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv = process.env,
  ) => {
    const log = path.join(dir, `${name}.log`);
    const fd = openSync(log, "a");
    const proc = spawn(command, args, { cwd: dir, env, stdio: ["ignore", fd, fd] });
    closeSync(fd);
    const child = { name, process: proc, log };
    children.push(child);
    return child;
  };
  // A plane left behind by a crashed test process is worse than a failed test: kill on exit.
  const killOnExit = () => children.forEach((c) => c.process.kill("SIGKILL"));
  process.once("exit", killOnExit);

  try {
    makeCertificates(dir);
    const token = `tok-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
    writeFileSync(path.join(dir, "tokens.csv"), `${token},tester,tester-uid,"system:masters"\n`);

    const [etcdClient, etcdPeer, apiPort, cmPort, schedPort, kwokPort] = await Promise.all(
      Array.from({ length: 6 }, () => freePort()),
    );
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const etcd = spawnLogged("etcd", binaries.etcd, [
      "--name=plane",
      `--data-dir=${path.join(dir, "etcd")}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=plane=http://127.0.0.1:${etcdPeer}`,
      "--unsafe-no-fsync",
      "--log-level=warn",
    ]);
    const server = `https://127.0.0.1:${apiPort}`;
    const apiserver = spawnLogged("kube-apiserver", binaries.apiserver, [
      `--etcd-servers=${etcdUrl}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${apiPort}`,
      // With a loopback advertise address the default (lease) reconciler refuses to start.
      "--endpoint-reconciler-type=none",
      "--authorization-mode=AlwaysAllow",
      `--token-auth-file=${path.join(dir, "tokens.csv")}`,
      `--client-ca-file=${path.join(dir, "ca.crt")}`,
      `--tls-cert-file=${path.join(dir, "apiserver.crt")}`,
      `--tls-private-key-file=${path.join(dir, "apiserver.key")}`,
      `--service-account-key-file=${path.join(dir, "sa.pub")}`,
      `--service-account-signing-key-file=${path.join(dir, "sa.key")}`,
      "--service-account-issuer=https://kubernetes.default.svc",
      "--service-cluster-ip-range=10.96.0.0/24",
      `--cert-dir=${path.join(dir, "apiserver-certs")}`,
      "--enable-priority-and-fairness=false",
      "--profiling=false",
    ]);
    writeFileSync(path.join(dir, "kubeconfig"), kubeconfigYaml(server, dir));
    const connection = planeConnection(dir);
    const { kubeconfig, client } = connection;
    await waitUntil(
      async () => (await client.raw("GET", "/readyz")).status === 200,
      60_000,
      () => failureOf([etcd, apiserver]),
      "kube-apiserver /readyz",
    );

    const controllerManager = spawnLogged("kube-controller-manager", binaries.controllerManager, [
      `--kubeconfig=${kubeconfig}`,
      "--leader-elect=false",
      "--bind-address=127.0.0.1",
      `--secure-port=${cmPort}`,
      `--service-account-private-key-file=${path.join(dir, "sa.key")}`,
      `--root-ca-file=${path.join(dir, "ca.crt")}`,
      `--horizontal-pod-autoscaler-sync-period=${options.hpaSyncSeconds ?? 2}s`,
    ]);
    const scheduler = spawnLogged("kube-scheduler", binaries.scheduler, [
      `--kubeconfig=${kubeconfig}`,
      "--leader-elect=false",
      "--bind-address=127.0.0.1",
      `--secure-port=${schedPort}`,
    ]);
    const stagesFile = path.join(dir, "kwok-stages.yaml");
    writeFileSync(stagesFile, kwokStages(options.podDeleteDelayMs ?? 1000));
    const kwok = spawnLogged(
      "kwok",
      binaries.kwok,
      [
        `--kubeconfig=${kubeconfig}`,
        `--config=${stagesFile}`,
        "--manage-all-nodes=false",
        "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
        `--server-address=127.0.0.1:${kwokPort}`,
        "--node-ip=127.0.0.1",
        "--cidr=10.244.0.1/24",
        "--node-lease-duration-seconds=40",
      ],
      // kwok also reads ~/.kwok/kwok.yaml: keep the operator's own out.
      { ...process.env, HOME: dir },
    );
    const all = [etcd, apiserver, controllerManager, scheduler, kwok];

    await client.create("/api/v1/nodes", {
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name: NODE_NAME,
        annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
        labels: { "kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux", type: "kwok" },
      },
      status: {
        allocatable: { cpu: "32", memory: "256Gi", pods: "110" },
        capacity: { cpu: "32", memory: "256Gi", pods: "110" },
      },
    });
    await waitUntil(
      async () => {
        const node = await client.get<{ status?: { conditions?: Array<{ type: string; status: string }> } }>(
          `/api/v1/nodes/${NODE_NAME}`,
        );
        return node?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
      },
      60_000,
      () => failureOf(all),
      `node ${NODE_NAME} Ready (kwok)`,
    );
    // Pods need the namespace's default service account, made by the controller-manager.
    await waitUntil(
      async () => (await client.get("/api/v1/namespaces/default/serviceaccounts/default")) !== undefined,
      60_000,
      () => failureOf(all),
      "the default service account (kube-controller-manager)",
    );

    let stopped = false;
    return {
      ...connection,
      pids: Object.fromEntries(all.map((c) => [c.name, c.process.pid ?? -1])),
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopChildren(children);
        process.removeListener("exit", killOnExit);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stopChildren(children);
    process.removeListener("exit", killOnExit);
    const logs = children.map((c) => `--- ${c.name}\n${logTail(c.log)}`).join("\n");
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`kubernetes test plane did not start: ${(error as Error).message}\n${logs}`);
  }
}

function failureOf(children: Child[]): string | undefined {
  const dead = children.find((c) => c.process.exitCode !== null || c.process.signalCode !== null);
  return dead ? `${dead.name} exited (${dead.process.exitCode ?? dead.process.signalCode})` : undefined;
}

export async function waitUntil(
  condition: () => Promise<boolean>,
  timeoutMs: number,
  failed: () => string | undefined = () => undefined,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const failure = failed();
    if (failure) throw new Error(`${failure} while waiting for ${what}`);
    try {
      if (await condition()) return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ""}`,
  );
}

/** The admin client of the plane, for creating and checking what the tests need. */
export class KubeTestClient {
  constructor(
    readonly server: string,
    private readonly ca: string,
    private readonly cert: Buffer,
    private readonly key: Buffer,
  ) {}

  raw(
    method: string,
    apiPath: string,
    body?: unknown,
    contentType = "application/json",
  ): Promise<{ status: number; body: unknown }> {
    const https = require("node:https") as typeof import("node:https");
    const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        new URL(this.server + apiPath),
        {
          method,
          ca: this.ca,
          cert: this.cert,
          key: this.key,
          headers: {
            Accept: "application/json",
            ...(payload !== undefined ? { "Content-Type": contentType } : {}),
          },
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // /readyz answers plain text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${apiPath}: no answer in 30 s`)));
      req.on("error", reject);
      req.end(payload);
    });
  }

  private async expectOk<T>(
    method: string,
    apiPath: string,
    body?: unknown,
    contentType?: string,
  ): Promise<T> {
    const { status, body: answer } = await this.raw(method, apiPath, body, contentType);
    if (status < 200 || status >= 300) {
      const message = (answer as { message?: string })?.message ?? JSON.stringify(answer);
      throw new Error(`${method} ${apiPath}: HTTP ${status} ${message}`);
    }
    return answer as T;
  }

  async get<T = unknown>(apiPath: string): Promise<T | undefined> {
    const { status, body } = await this.raw("GET", apiPath);
    if (status === 404) return undefined;
    if (status !== 200) throw new Error(`GET ${apiPath}: HTTP ${status} ${JSON.stringify(body)}`);
    return body as T;
  }

  create<T = unknown>(collectionPath: string, object: unknown): Promise<T> {
    return this.expectOk<T>("POST", collectionPath, object);
  }

  /** Server-side apply as field manager `manager`, forcing conflicts. */
  apply<T = unknown>(objectPath: string, object: unknown, manager = "kube-test"): Promise<T> {
    return this.expectOk<T>(
      "PATCH",
      `${objectPath}?fieldManager=${encodeURIComponent(manager)}&force=true`,
      object,
      "application/apply-patch+yaml",
    );
  }

  mergePatch<T = unknown>(objectPath: string, patch: unknown): Promise<T> {
    return this.expectOk<T>("PATCH", objectPath, patch, "application/merge-patch+json");
  }

  async delete(objectPath: string): Promise<void> {
    const { status, body } = await this.raw("DELETE", objectPath);
    if (status !== 200 && status !== 202 && status !== 404)
      throw new Error(`DELETE ${objectPath}: HTTP ${status} ${JSON.stringify(body)}`);
  }

  async createNamespace(name: string): Promise<void> {
    await this.create("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name } });
    await waitUntil(
      async () => (await this.get(`/api/v1/namespaces/${name}/serviceaccounts/default`)) !== undefined,
      30_000,
      undefined,
      `service account default in ${name}`,
    );
  }

  async list<T = unknown>(collectionPath: string, labelSelector?: string): Promise<T[]> {
    const query = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : "";
    const list = await this.expectOk<{ items: T[] }>("GET", collectionPath + query);
    return list.items;
  }
}

/**
 * The plane the test run's global setup started (TEST_KUBE_DIR), or an error naming why
 * there is none. Tests use their own namespace on it.
 */
export function sharedPlane(env: NodeJS.ProcessEnv = process.env): Omit<KubePlane, "stop" | "pids"> {
  if (env.TEST_KUBE_ERROR) throw new Error(`no Kubernetes test plane: ${env.TEST_KUBE_ERROR}`);
  const dir = env.TEST_KUBE_DIR;
  if (!dir)
    throw new Error(
      "no Kubernetes test plane: TEST_KUBE_DIR is not set (testkit/servers/kubePlaneSetup.ts starts it for the `go-tools` tests of vitest.config.mts)",
    );
  return planeConnection(dir);
}

/** How to reach the plane in `dir`, from the kubeconfig, certificates and token its start wrote there. */
function planeConnection(dir: string): Omit<KubePlane, "stop" | "pids"> {
  const kubeconfig = path.join(dir, "kubeconfig");
  const config = JSON.parse(readFileSync(kubeconfig, "utf8")) as {
    clusters: Array<{ cluster: { server: string } }>;
  };
  const server = config.clusters[0].cluster.server;
  const caPem = readFileSync(path.join(dir, "ca.crt"), "utf8");
  const token = readFileSync(path.join(dir, "tokens.csv"), "utf8").split(",")[0];
  return {
    dir,
    server,
    kubeconfig,
    token,
    caPem,
    client: new KubeTestClient(
      server,
      caPem,
      readFileSync(path.join(dir, "admin.crt")),
      readFileSync(path.join(dir, "admin.key")),
    ),
  };
}

/** A fresh namespace name per test file. */
export function uniqueNamespace(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

export interface WorkloadSpecOptions {
  labels?: Record<string, string>;
  /** Finalizers on every pod: a deleted pod stays terminating until a test removes them. */
  podFinalizers?: string[];
  nodeSelector?: Record<string, string>;
  terminationGracePeriodSeconds?: number;
  /** StatefulSet update strategy type. */
  updateStrategy?: "RollingUpdate" | "OnDelete";
}

/** A Deployment or StatefulSet manifest whose pods kwok runs (no containers start). */
export function workloadManifest(
  kind: "Deployment" | "StatefulSet",
  namespace: string,
  name: string,
  replicas: number,
  options: WorkloadSpecOptions = {},
): Record<string, unknown> {
  const labels = { "app.kubernetes.io/name": name, ...options.labels };
  return {
    apiVersion: "apps/v1",
    kind,
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { "app.kubernetes.io/name": name } },
      ...(kind === "StatefulSet"
        ? {
            serviceName: name,
            ...(options.updateStrategy ? { updateStrategy: { type: options.updateStrategy } } : {}),
          }
        : {}),
      template: {
        metadata: { labels, ...(options.podFinalizers ? { finalizers: options.podFinalizers } : {}) },
        spec: {
          ...(options.nodeSelector ? { nodeSelector: options.nodeSelector } : {}),
          ...(options.terminationGracePeriodSeconds !== undefined
            ? { terminationGracePeriodSeconds: options.terminationGracePeriodSeconds }
            : {}),
          containers: [{ name: "main", image: "registry.tines.com/tines/test:1" }],
        },
      },
    },
  };
}

export const workloadPath = (namespace: string, kind: "Deployment" | "StatefulSet", name: string) =>
  `/apis/apps/v1/namespaces/${namespace}/${kind === "Deployment" ? "deployments" : "statefulsets"}/${name}`;

/** Create the workload and wait until every replica is ready. */
export async function createReadyWorkload(
  client: KubeTestClient,
  kind: "Deployment" | "StatefulSet",
  namespace: string,
  name: string,
  replicas: number,
  options: WorkloadSpecOptions = {},
): Promise<void> {
  await client.create(
    `/apis/apps/v1/namespaces/${namespace}/${kind === "Deployment" ? "deployments" : "statefulsets"}`,
    workloadManifest(kind, namespace, name, replicas, options),
  );
  await waitUntil(
    async () => {
      const w = await client.get<{ status?: { readyReplicas?: number } }>(
        workloadPath(namespace, kind, name),
      );
      return (w?.status?.readyReplicas ?? 0) === replicas;
    },
    60_000,
    undefined,
    `${kind} ${namespace}/${name} ${replicas} ready`,
  );
}

/** Remove every pod's finalizers, letting terminating pods go. */
export async function releasePods(
  client: KubeTestClient,
  namespace: string,
  selector: string,
): Promise<void> {
  const pods = await client.list<{ metadata: { name: string } }>(
    `/api/v1/namespaces/${namespace}/pods`,
    selector,
  );
  await Promise.all(
    pods.map((pod) =>
      client.mergePatch(`/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}`, {
        metadata: { finalizers: null },
      }),
    ),
  );
}

/** Install KEDA's real ScaledObject CRD (testkit/fixtures/keda), without the KEDA operator. */
export async function installScaledObjectCrd(client: KubeTestClient): Promise<void> {
  const YAML = require("yaml") as typeof import("yaml");
  const file = testkitPath("fixtures", "keda", "keda.sh_scaledobjects.yaml");
  const crd = YAML.parse(readFileSync(file, "utf8")) as { metadata: { name: string } };
  const path_ = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`;
  await client.apply(path_, crd);
  await waitUntil(
    async () => {
      const live = await client.get<{ status?: { conditions?: Array<{ type: string; status: string }> } }>(
        path_,
      );
      return live?.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") ?? false;
    },
    30_000,
    undefined,
    "the ScaledObject CRD to be established",
  );
}

/** A ScaledObject with a cron trigger targeting `target`. */
export function scaledObjectManifest(
  namespace: string,
  name: string,
  target: string,
  annotations?: Record<string, string>,
) {
  return {
    apiVersion: "keda.sh/v1alpha1",
    kind: "ScaledObject",
    metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
    spec: {
      scaleTargetRef: { name: target },
      minReplicaCount: 1,
      maxReplicaCount: 5,
      triggers: [
        {
          type: "cron",
          metadata: { timezone: "UTC", start: "0 8 * * *", end: "0 18 * * *", desiredReplicas: "3" },
        },
      ],
    },
  };
}
