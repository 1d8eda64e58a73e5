/**
 * A minimal Kubernetes API client over node:https: GET an object, LIST with a label
 * selector, and server-side apply (the one write, for the annotations this program owns). Written against the REST API instead of @kubernetes/client-node, which is
 * ESM-only and pulls a second @types/node and undici into this CommonJS program. Node
 * modules are required inside functions so a dynamic provider that captures this code
 * serializes cleanly.
 */
import { MaintenanceError, isMaintenanceError, oneLine } from "../errors";
import type { ExecConfig, KubeConnection } from "./kubeconfig";

export interface KubeClient {
  /** GET `path`; undefined on 404. */
  get<T>(path: string): Promise<T | undefined>;
  /** LIST `path` (a collection) with an optional label selector; the items. */
  list<T>(path: string, labelSelector?: string): Promise<T[]>;
  /**
   * Server-side apply of `object` to `path` as `fieldManager`, without forcing: a field another
   * manager owns with a different value is a conflict (an error), never taken over. Fields this
   * manager owned before and `object` leaves out are removed, unless another manager owns them too.
   */
  apply<T>(path: string, object: unknown, fieldManager: string): Promise<T>;
}

interface Credentials {
  token?: string;
  cert?: Buffer | string;
  key?: Buffer | string;
  /** Epoch ms after which an exec credential must be fetched again. */
  expiresAt?: number;
}

const REQUEST_TIMEOUT_MS = 30_000;

/** Run a client.authentication.k8s.io exec plugin (e.g. `aws eks get-token`) and read its credential. */
export async function execCredential(exec: ExecConfig, run = runCommand): Promise<Credentials> {
  const apiVersion = exec.apiVersion ?? "client.authentication.k8s.io/v1beta1";
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const { name, value } of exec.env ?? []) env[name] = value;
  env.KUBERNETES_EXEC_INFO = JSON.stringify({
    apiVersion,
    kind: "ExecCredential",
    spec: { interactive: false },
  });
  const stdout = await run(exec.command, exec.args ?? [], env);
  let parsed: {
    status?: {
      token?: string;
      clientCertificateData?: string;
      clientKeyData?: string;
      expirationTimestamp?: string;
    };
  };
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new MaintenanceError(
      `kubeconfig exec plugin ${exec.command} did not print an ExecCredential (JSON)`,
    );
  }
  const status = parsed.status ?? {};
  if (!status.token && !(status.clientCertificateData && status.clientKeyData)) {
    throw new MaintenanceError(
      `kubeconfig exec plugin ${exec.command} returned no token or client certificate`,
    );
  }
  return {
    token: status.token,
    cert: status.clientCertificateData,
    key: status.clientKeyData,
    expiresAt: status.expirationTimestamp ? Date.parse(status.expirationTimestamp) : undefined,
  };
}

function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const { execFile } = require("node:child_process") as typeof import("node:child_process");
  return new Promise((resolve, reject) => {
    execFile(command, args, { env, timeout: 60_000, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        // stderr of credential plugins names the failure; stdout may carry the token, so never echo it.
        const reason = String(stderr).trim().split("\n").pop() || error.message.split("\n")[0];
        reject(new MaintenanceError(`kubeconfig exec plugin ${command} failed: ${reason}`));
      } else resolve(String(stdout));
    });
  });
}

export function createKubeClient(
  connection: KubeConnection,
  options: { runExec?: typeof runCommand } = {},
): KubeClient {
  let cached: Credentials | undefined;

  async function credentials(): Promise<Credentials> {
    if (connection.exec) {
      if (!cached || (cached.expiresAt !== undefined && cached.expiresAt - 60_000 < Date.now())) {
        cached = await execCredential(connection.exec, options.runExec);
      }
      return { cert: connection.cert, key: connection.key, ...stripUndefined(cached) };
    }
    let token = connection.token;
    if (connection.tokenFile) {
      const fs = require("node:fs") as typeof import("node:fs");
      // Projected service-account tokens rotate: read the file on every request.
      token = fs.readFileSync(connection.tokenFile, "utf8").trim();
    }
    return { token, cert: connection.cert, key: connection.key };
  }

  async function request<T>(
    path: string,
    write?: { method: "PATCH"; body: string; contentType: string },
  ): Promise<{ status: number; body: T | undefined }> {
    const method = write?.method ?? "GET";
    const https = require("node:https") as typeof import("node:https");
    const http = require("node:http") as typeof import("node:http");
    const creds = await credentials();
    const url = new URL(connection.server + path);
    const transport = url.protocol === "http:" ? http : https;
    return new Promise((resolve, reject) => {
      const req = transport.request(
        url,
        {
          method,
          headers: {
            Accept: "application/json",
            ...(write ? { "Content-Type": write.contentType } : {}),
            "User-Agent": "tines-maintenance",
            ...(creds.token ? { Authorization: `Bearer ${creds.token}` } : {}),
          },
          ca: connection.ca,
          cert: creds.cert,
          key: creds.key,
          rejectUnauthorized: !connection.insecureSkipTlsVerify,
          servername: connection.tlsServerName,
          timeout: REQUEST_TIMEOUT_MS,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            const status = res.statusCode ?? 0;
            if (status === 404) return resolve({ status, body: undefined });
            if (status < 200 || status >= 300) {
              let reason = text.slice(0, 200);
              try {
                reason = (JSON.parse(text) as { message?: string }).message ?? reason;
              } catch {
                // not a Status object; keep the text
              }
              return reject(
                new MaintenanceError(
                  `Kubernetes API ${method} ${path.split("?")[0]} (${connection.source}): HTTP ${status} ${reason}`,
                ),
              );
            }
            try {
              resolve({ status, body: JSON.parse(text) as T });
            } catch {
              reject(
                new MaintenanceError(
                  `Kubernetes API ${method} ${path.split("?")[0]} (${connection.source}): response is not JSON`,
                ),
              );
            }
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS / 1000}s`)));
      req.on("error", (error) => {
        reject(
          isMaintenanceError(error)
            ? error
            : new MaintenanceError(
                `Kubernetes API ${connection.server} (${connection.source}) unreachable: ${oneLine(error)}`,
              ),
        );
      });
      req.end(write?.body);
    });
  }

  return {
    async get<T>(path: string) {
      return (await request<T>(path)).body;
    },
    async list<T>(path: string, labelSelector?: string) {
      const query = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : "";
      const { body } = await request<{ items?: T[] }>(path + query);
      return body?.items ?? [];
    },
    async apply<T>(path: string, object: unknown, fieldManager: string) {
      const { body } = await request<T>(`${path}?fieldManager=${encodeURIComponent(fieldManager)}`, {
        method: "PATCH",
        body: JSON.stringify(object),
        contentType: "application/apply-patch+yaml",
      });
      if (body === undefined) {
        throw new MaintenanceError(`Kubernetes API PATCH ${path} (${connection.source}): not found`);
      }
      return body;
    },
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** REST paths of the objects this program reads. */
export const kubePaths = {
  workload: (namespace: string, kind: "Deployment" | "StatefulSet", name: string) =>
    `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/${kind === "Deployment" ? "deployments" : "statefulsets"}/${encodeURIComponent(name)}`,
  pods: (namespace: string) => `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
  hpas: (namespace: string) =>
    `/apis/autoscaling/v2/namespaces/${encodeURIComponent(namespace)}/horizontalpodautoscalers`,
};
