/**
 * Resolve how to reach the Kubernetes API the way kubectl and the Pulumi Kubernetes provider
 * do: $KUBECONFIG (a path list, merged, first value wins) or ~/.kube/config, then the
 * in-cluster service account. Only what this program needs: server, CA, client certificate,
 * bearer token (inline or file) and exec credential plugins (EKS, GKE, AKS).
 */
import { ConfigError } from "../errors";

export interface ExecConfig {
  command: string;
  args?: string[];
  env?: Array<{ name: string; value: string }>;
  apiVersion?: string;
}

export interface KubeConnection {
  /** For messages: `context <name>` or `in-cluster`. */
  source: string;
  server: string;
  ca?: Buffer;
  insecureSkipTlsVerify?: boolean;
  tlsServerName?: string;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
  tokenFile?: string;
  exec?: ExecConfig;
}

type Fields = Record<string, unknown>;

interface KubeconfigFile {
  path: string;
  dir: string;
  doc: {
    "current-context"?: string;
    contexts?: Array<{ name: string; context?: { cluster?: string; user?: string } }>;
    clusters?: Array<{ name: string; cluster?: Fields }>;
    users?: Array<{ name: string; user?: Fields }>;
  };
}

export interface ResolveOptions {
  context?: string;
  env?: NodeJS.ProcessEnv;
  homeDir?: string;
  /** Where a pod's service account is mounted (tests point it elsewhere). */
  serviceAccountDir?: string;
}

const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export function kubeconfigPaths(env: NodeJS.ProcessEnv, homeDir: string): string[] {
  const path = require("node:path") as typeof import("node:path");
  const list = env.KUBECONFIG?.split(path.delimiter).filter((p) => p.trim() !== "");
  return list && list.length > 0 ? list : [path.join(homeDir, ".kube", "config")];
}

function readFiles(paths: string[]): KubeconfigFile[] {
  const fs = require("node:fs") as typeof import("node:fs");
  const path = require("node:path") as typeof import("node:path");
  const YAML = require("yaml") as typeof import("yaml");
  const files: KubeconfigFile[] = [];
  for (const file of paths) {
    if (!fs.existsSync(file)) continue;
    let doc: unknown;
    try {
      doc = YAML.parse(fs.readFileSync(file, "utf8"));
    } catch (error) {
      throw new ConfigError(
        `kubeconfig ${file} is not valid YAML: ${(error as Error).message.split("\n")[0]}`,
      );
    }
    if (doc && typeof doc === "object") {
      files.push({ path: file, dir: path.dirname(path.resolve(file)), doc: doc as KubeconfigFile["doc"] });
    }
  }
  return files;
}

/** First entry with that name across the files (kubectl's merge rule), with the directory of its file. */
function lookup<T extends { name: string }>(
  files: KubeconfigFile[],
  pick: (f: KubeconfigFile) => T[] | undefined,
  name: string,
) {
  for (const file of files) {
    const entry = (pick(file) ?? []).find((e) => e?.name === name);
    if (entry) return { entry, dir: file.dir };
  }
  return undefined;
}

function fileOrData(
  dir: string,
  fields: Record<string, unknown>,
  dataKey: string,
  fileKey: string,
): Buffer | undefined {
  const data = fields[dataKey];
  if (typeof data === "string" && data !== "") return Buffer.from(data, "base64");
  const file = fields[fileKey];
  if (typeof file === "string" && file !== "") {
    const fs = require("node:fs") as typeof import("node:fs");
    const path = require("node:path") as typeof import("node:path");
    return fs.readFileSync(path.resolve(dir, file));
  }
  return undefined;
}

/**
 * The connection for `context` (default: current-context). Throws ConfigError naming
 * `kubernetes.context` and the contexts that exist when the context is unknown.
 */
export function resolveConnection(options: ResolveOptions = {}): KubeConnection {
  const os = require("node:os") as typeof import("node:os");
  const env = options.env ?? process.env;
  const files = readFiles(kubeconfigPaths(env, options.homeDir ?? os.homedir()));
  if (files.length === 0) {
    const inCluster = inClusterConnection(env, options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);
    if (inCluster) return inCluster;
    throw new ConfigError(
      `no kubeconfig found (${kubeconfigPaths(env, options.homeDir ?? os.homedir()).join(", ")}) and not running in a cluster; ` +
        "set KUBECONFIG or tines-maintenance:kubernetes.context",
    );
  }
  const contextName = options.context ?? files.find((f) => f.doc["current-context"])?.doc["current-context"];
  const known = [...new Set(files.flatMap((f) => (f.doc.contexts ?? []).map((c) => c.name)))];
  if (!contextName) {
    throw new ConfigError(
      `tines-maintenance:kubernetes.context: required (kubeconfig has no current-context); allowed: ${known.join(", ") || "(none)"}`,
    );
  }
  const context = lookup(files, (f) => f.doc.contexts, contextName);
  if (!context) {
    throw new ConfigError(
      `tines-maintenance:kubernetes.context: unknown context "${contextName}"; allowed: ${known.join(", ") || "(none)"}`,
    );
  }
  const clusterName = context.entry.context?.cluster ?? "";
  const userName = context.entry.context?.user ?? "";
  const cluster = lookup(files, (f) => f.doc.clusters, clusterName);
  if (!cluster?.entry.cluster || typeof cluster.entry.cluster.server !== "string") {
    throw new ConfigError(
      `kubeconfig context "${contextName}" names cluster "${clusterName}", which has no server`,
    );
  }
  const c = cluster.entry.cluster;
  const connection: KubeConnection = {
    source: `context ${contextName}`,
    server: (c.server as string).replace(/\/+$/, ""),
    ca: fileOrData(cluster.dir, c, "certificate-authority-data", "certificate-authority"),
    insecureSkipTlsVerify: c["insecure-skip-tls-verify"] === true,
    tlsServerName: typeof c["tls-server-name"] === "string" ? (c["tls-server-name"] as string) : undefined,
  };
  const user = lookup(files, (f) => f.doc.users, userName);
  const u: Fields = user?.entry.user ?? {};
  const dir = user?.dir ?? cluster.dir;
  connection.cert = fileOrData(dir, u, "client-certificate-data", "client-certificate");
  connection.key = fileOrData(dir, u, "client-key-data", "client-key");
  if (typeof u.token === "string" && u.token !== "") connection.token = u.token;
  if (typeof u.tokenFile === "string" && u.tokenFile !== "") {
    const path = require("node:path") as typeof import("node:path");
    connection.tokenFile = path.resolve(dir, u.tokenFile);
  }
  const exec = u.exec as ExecConfig | undefined;
  if (exec && typeof exec.command === "string") connection.exec = exec;
  if (u["auth-provider"] && !connection.token && !connection.exec) {
    throw new ConfigError(
      `kubeconfig user "${userName}" uses a legacy auth-provider, which this program does not support; use an exec credential plugin`,
    );
  }
  return connection;
}

function inClusterConnection(env: NodeJS.ProcessEnv, dir: string): KubeConnection | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? "443";
  const fs = require("node:fs") as typeof import("node:fs");
  const path = require("node:path") as typeof import("node:path");
  const tokenFile = path.join(dir, "token");
  if (!host || !fs.existsSync(tokenFile)) return undefined;
  const caFile = path.join(dir, "ca.crt");
  return {
    source: "in-cluster",
    server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    ca: fs.existsSync(caFile) ? fs.readFileSync(caFile) : undefined,
    tokenFile,
  };
}
