/**
 * The Docker Engine API calls that `docker compose stop/start` makes for one service, over the
 * engine's socket. Compose finds a project's containers by the labels it put on them, so this
 * needs neither the compose CLI plugin nor the compose file: only the engine.
 */
import http from "node:http";
import { MaintenanceError } from "../errors";

export const PROJECT_LABEL = "com.docker.compose.project";
export const SERVICE_LABEL = "com.docker.compose.service";
export const NUMBER_LABEL = "com.docker.compose.container-number";
export const ONEOFF_LABEL = "com.docker.compose.oneoff";

export const DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock";

export interface EngineAddress {
  socketPath?: string;
  host?: string;
  port?: number;
}

/** `unix:///path` or `tcp://host:port`, as DOCKER_HOST spells it. */
export function parseDockerHost(dockerHost: string): EngineAddress {
  if (dockerHost.startsWith("unix://")) return { socketPath: dockerHost.slice("unix://".length) };
  const match = /^(?:tcp|http):\/\/([^:/]+):(\d+)\/?$/.exec(dockerHost);
  if (match) return { host: match[1], port: Number(match[2]) };
  throw new MaintenanceError(
    `docker host "${dockerHost}" is not supported; allowed: unix:///path/to/docker.sock or tcp://host:port (no TLS)`,
  );
}

export function resolveDockerHost(configured: string | undefined): string {
  return configured ?? process.env.DOCKER_HOST ?? DEFAULT_DOCKER_HOST;
}

/** One entry of GET /containers/json. */
export interface ContainerSummary {
  Id: string;
  Names: string[];
  State: string;
  Status: string;
  Labels: Record<string, string>;
}

/** The parts of GET /containers/{id}/json a step looks at. */
export interface ContainerInspect {
  Id: string;
  Name: string;
  /** The image id (sha256:...) the container was created from. */
  Image?: string;
  State: {
    Status: string;
    Running: boolean;
    Paused?: boolean;
    Restarting?: boolean;
    Health?: { Status: string };
  };
  Config: { StopTimeout?: number; Labels?: Record<string, string>; Image?: string };
}

export interface DockerEngine {
  readonly dockerHost: string;
  request(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs?: number,
  ): Promise<{ status: number; body: string }>;
  listServiceContainers(project: string, service: string): Promise<ContainerSummary[]>;
  inspect(id: string): Promise<ContainerInspect>;
  /** Without `timeoutSeconds` the engine uses the container's StopTimeout, i.e. compose's stop_grace_period. */
  stop(id: string, timeoutSeconds: number | undefined, requestTimeoutMs: number): Promise<void>;
  start(id: string): Promise<void>;
}

function engineMessage(body: string): string {
  try {
    return (JSON.parse(body) as { message?: string }).message ?? body.trim();
  } catch {
    return body.trim();
  }
}

export function createDockerEngine(dockerHost: string): DockerEngine {
  const address = parseDockerHost(dockerHost);
  const request: DockerEngine["request"] = (method, path, body, timeoutMs = 30_000) =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(
        {
          ...address,
          method,
          path,
          headers: payload
            ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
            : {},
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
          );
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer within ${Math.round(timeoutMs / 1000)}s`)));
      req.on("error", (error) =>
        reject(
          new MaintenanceError(
            `Docker engine at ${dockerHost}: ${method} ${path.split("?")[0]}: ${error.message}`,
          ),
        ),
      );
      req.end(payload);
    });

  const call = async (method: string, path: string, ok: number[], timeoutMs?: number) => {
    const res = await request(method, path, undefined, timeoutMs);
    if (!ok.includes(res.status)) {
      throw new MaintenanceError(
        `Docker engine at ${dockerHost}: ${method} ${path.split("?")[0]} answered ${res.status}: ${engineMessage(res.body)}`,
      );
    }
    return res.body;
  };

  return {
    dockerHost,
    request,
    async listServiceContainers(project, service) {
      const filters = JSON.stringify({
        label: [`${PROJECT_LABEL}=${project}`, `${SERVICE_LABEL}=${service}`],
      });
      const body = await call(
        "GET",
        `/containers/json?all=true&filters=${encodeURIComponent(filters)}`,
        [200],
      );
      // `docker compose run` containers are not part of the service's scale.
      return (JSON.parse(body) as ContainerSummary[]).filter((c) => c.Labels[ONEOFF_LABEL] !== "True");
    },
    async inspect(id) {
      return JSON.parse(
        await call("GET", `/containers/${encodeURIComponent(id)}/json`, [200]),
      ) as ContainerInspect;
    },
    async stop(id, timeoutSeconds, requestTimeoutMs) {
      const query = timeoutSeconds === undefined ? "" : `?t=${timeoutSeconds}`;
      // 304: already stopped.
      await call("POST", `/containers/${encodeURIComponent(id)}/stop${query}`, [204, 304], requestTimeoutMs);
    },
    async start(id) {
      await call("POST", `/containers/${encodeURIComponent(id)}/start`, [204, 304]);
    },
  };
}
