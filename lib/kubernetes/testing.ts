/**
 * Test support: a local HTTPS server that answers the Kubernetes REST paths this program
 * reads from a mutable in-memory cluster, and a kubeconfig pointing at it. Real TLS (a
 * certificate made with openssl for 127.0.0.1) and real bearer-token checks, so the client,
 * kubeconfig resolution and the wait loop run as they would against an API server.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HorizontalPodAutoscaler, Pod, Workload } from "./workload";

export interface FakeCluster {
  workloads: Map<string, Workload>;
  pods: Map<string, Array<Pod & { metadata: { labels?: Record<string, string> } }>>;
  hpas: Map<string, HorizontalPodAutoscaler[]>;
}

export interface FakeApiServer {
  url: string;
  caPem: string;
  token: string;
  cluster: FakeCluster;
  /** Every request: method, path with query, Authorization header. */
  requests: Array<{ path: string; authorization?: string }>;
  dir: string;
  close(): Promise<void>;
}

/** Does a pod's label set match a labelSelector string of the forms selectorString emits? */
function matches(labels: Record<string, string>, selector: string): boolean {
  const terms = selector.match(/[^,(]+(\([^)]*\))?/g) ?? [];
  return terms.every((raw) => {
    const term = raw.trim();
    let m: RegExpMatchArray | null;
    if ((m = term.match(/^(\S+) (in|notin) \((.*)\)$/))) {
      const values = m[3].split(",");
      return m[2] === "in" ? values.includes(labels[m[1]]) : !values.includes(labels[m[1]]);
    }
    if ((m = term.match(/^([^=!]+)=(.*)$/))) return labels[m[1]] === m[2];
    if (term.startsWith("!")) return !(term.slice(1) in labels);
    return term in labels;
  });
}

export async function startFakeApiServer(token = "test-token-4f1c9a"): Promise<FakeApiServer> {
  const dir = mkdtempSync(join(tmpdir(), "fake-kube-"));
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem"),
    ],
    { stdio: "ignore" },
  );
  const caPem = readFileSync(join(dir, "cert.pem"), "utf8");
  const cluster: FakeCluster = { workloads: new Map(), pods: new Map(), hpas: new Map() };
  const requests: FakeApiServer["requests"] = [];
  const server: Server = createServer(
    { key: readFileSync(join(dir, "key.pem")), cert: caPem },
    (req, res) => {
      const url = new URL(req.url ?? "/", "https://127.0.0.1");
      requests.push({ path: url.pathname + url.search, authorization: req.headers.authorization });
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (req.headers.authorization !== `Bearer ${token}`) {
        return send(401, {
          kind: "Status",
          status: "Failure",
          message: "Unauthorized",
          reason: "Unauthorized",
          code: 401,
        });
      }
      let m: RegExpMatchArray | null;
      if (
        (m = url.pathname.match(
          /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/(deployments|statefulsets)\/([^/]+)$/,
        ))
      ) {
        const workload = cluster.workloads.get(`${m[1]}/${m[2]}/${m[3]}`);
        if (!workload) {
          return send(404, {
            kind: "Status",
            status: "Failure",
            message: `${m[2]}.apps "${m[3]}" not found`,
            reason: "NotFound",
            code: 404,
          });
        }
        return send(200, workload);
      }
      if ((m = url.pathname.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods$/))) {
        const selector = url.searchParams.get("labelSelector") ?? "";
        const items = (cluster.pods.get(m[1]) ?? []).filter((p) =>
          matches(p.metadata.labels ?? {}, selector),
        );
        return send(200, { kind: "PodList", apiVersion: "v1", items });
      }
      if (
        (m = url.pathname.match(/^\/apis\/autoscaling\/v2\/namespaces\/([^/]+)\/horizontalpodautoscalers$/))
      ) {
        return send(200, { kind: "HorizontalPodAutoscalerList", items: cluster.hpas.get(m[1]) ?? [] });
      }
      send(404, { kind: "Status", message: "the server could not find the requested resource", code: 404 });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `https://127.0.0.1:${port}`,
    caPem,
    token,
    cluster,
    requests,
    dir,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        rmSync(dir, { recursive: true, force: true });
      }),
  };
}

/** Write a kubeconfig for the fake server; `user` is the kubeconfig user entry. */
export function writeKubeconfig(api: FakeApiServer, user: Record<string, unknown>, name = "config"): string {
  const file = join(api.dir, name);
  const doc = {
    apiVersion: "v1",
    kind: "Config",
    "current-context": "fake",
    clusters: [
      {
        name: "fake",
        cluster: { server: api.url, "certificate-authority-data": Buffer.from(api.caPem).toString("base64") },
      },
    ],
    users: [{ name: "fake-user", user }],
    contexts: [{ name: "fake", context: { cluster: "fake", user: "fake-user", namespace: "tines" } }],
  };
  writeFileSync(file, JSON.stringify(doc));
  return file;
}
