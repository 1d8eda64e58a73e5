/**
 * A real Docker engine for tests: `dockerd` on a private socket (vfs storage, no bridge, no
 * iptables, so it runs in a container without extra privileges beyond root), a tiny image
 * imported from busybox-static, and containers labelled the way `docker compose up` labels them.
 * Not used by the program. TEST_DOCKER_HOST points the tests at an existing engine instead.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import {
  createDockerEngine,
  NUMBER_LABEL,
  ONEOFF_LABEL,
  PROJECT_LABEL,
  SERVICE_LABEL,
  type DockerEngine,
} from "../../lib/compose/engine";
import { findExecutable, stopProcess } from "./localServers";

export const TEST_IMAGE = "tines-maintenance-test/busybox:1";
const SETUP_HINT = "install docker.io and busybox-static (scripts/setup.sh)";

export interface TestEngine {
  engine: DockerEngine;
  dockerHost: string;
  /** The private dockerd's PID; undefined for an engine TEST_DOCKER_HOST names. */
  dockerdPid?: number;
  /** TMPDIR of the private dockerd and its containerd, inside the engine's directory. */
  tmpDir?: string;
  stop(): Promise<void>;
}

async function ping(engine: DockerEngine): Promise<boolean> {
  try {
    return (await engine.request("GET", "/_ping", undefined, 2000)).status === 200;
  } catch {
    return false;
  }
}

export async function startTestEngine(): Promise<TestEngine> {
  const existing = process.env.TEST_DOCKER_HOST;
  if (existing) {
    const engine = createDockerEngine(existing);
    await importBusybox(engine);
    return { engine, dockerHost: existing, stop: async () => undefined };
  }
  const dockerd = findExecutable("dockerd", ["/usr/sbin", "/usr/bin"], SETUP_HINT);
  const dir = mkdtempSync(path.join(os.tmpdir(), "tines-maint-dockerd-"));
  const dockerHost = `unix://${dir}/docker.sock`;
  // dockerd and its containerd write to TMPDIR (containerd's stack dumps); it goes with the rest.
  const tmpDir = path.join(dir, "tmp");
  mkdirSync(tmpDir);
  const log: Buffer[] = [];
  const child = spawn(
    dockerd,
    [
      "--data-root",
      `${dir}/root`,
      "--exec-root",
      `${dir}/exec`,
      "--pidfile",
      `${dir}/docker.pid`,
      "-H",
      dockerHost,
      "--storage-driver",
      "vfs",
      "--iptables=false",
      "--ip6tables=false",
      "--bridge=none",
    ],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, TMPDIR: tmpDir } },
  );
  child.stderr?.on("data", (c: Buffer) => log.push(c));
  const engine = createDockerEngine(dockerHost);
  const deadline = Date.now() + 30_000;
  while (!(await ping(engine))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      const tail = Buffer.concat(log).toString("utf8").trim().split("\n").slice(-3).join(" | ");
      throw new Error(`test docker engine: dockerd did not answer on ${dockerHost}: ${tail}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await importBusybox(engine);
  return {
    engine,
    dockerHost,
    dockerdPid: child.pid,
    tmpDir,
    stop: async () => {
      await stopProcess(child, 15_000);
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

/** A rootfs of one static busybox binary, imported as an image: no registry needed. */
async function importBusybox(engine: DockerEngine): Promise<void> {
  if ((await engine.request("GET", `/images/${TEST_IMAGE}/json`)).status === 200) return;
  const busybox = findExecutable("busybox", ["/bin", "/usr/bin"], SETUP_HINT);
  const rootfs = mkdtempSync(path.join(os.tmpdir(), "tines-maint-rootfs-"));
  try {
    spawnSync("mkdir", ["-p", `${rootfs}/bin`, `${rootfs}/tmp`]);
    spawnSync("cp", [busybox, `${rootfs}/bin/busybox`]);
    for (const applet of ["sh", "sleep", "true", "touch", "test", "rm"]) {
      spawnSync("ln", ["-s", "busybox", `${rootfs}/bin/${applet}`]);
    }
    const tar = spawnSync("tar", ["-C", rootfs, "-cf", "-", "."], { maxBuffer: 64 * 1024 * 1024 });
    if (tar.status !== 0) throw new Error(`test docker engine: tar failed: ${tar.stderr.toString()}`);
    const [repo, tag] = TEST_IMAGE.split(":");
    await rawPost(
      engine.dockerHost,
      `/images/create?fromSrc=-&repo=${encodeURIComponent(repo)}&tag=${tag}`,
      tar.stdout,
    );
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
}

function rawPost(dockerHost: string, urlPath: string, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        socketPath: dockerHost.slice("unix://".length),
        method: "POST",
        path: urlPath,
        headers: { "content-type": "application/x-tar", "content-length": body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          res.statusCode === 200
            ? resolve()
            : reject(new Error(`image import: ${res.statusCode} ${Buffer.concat(chunks)}`)),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

export interface ComposeContainerSpec {
  project: string;
  service: string;
  number: number;
  /** compose's stop_grace_period; the engine default (10 s) when unset. */
  stopTimeout?: number;
  /** Ignore SIGTERM, as a worker finishing its jobs would, so only the grace period ends it. */
  ignoreTerm?: boolean;
  /** Healthy once /tmp/ready exists; the container creates it after `readyAfterSeconds`. */
  readyAfterSeconds?: number;
  running?: boolean;
}

/** A container as `docker compose up` would have created it for `service`. */
export async function createComposeContainer(
  engine: DockerEngine,
  spec: ComposeContainerSpec,
): Promise<string> {
  const trap = spec.ignoreTerm ? `trap "" TERM` : `trap "exit 0" TERM`;
  const ready =
    spec.readyAfterSeconds === undefined
      ? ""
      : `rm -f /tmp/ready; (sleep ${spec.readyAfterSeconds}; touch /tmp/ready) & `;
  const body = {
    Image: TEST_IMAGE,
    Cmd: ["sh", "-c", `${trap}; ${ready}while true; do sleep 0.2; done`],
    Labels: {
      [PROJECT_LABEL]: spec.project,
      [SERVICE_LABEL]: spec.service,
      [NUMBER_LABEL]: String(spec.number),
      [ONEOFF_LABEL]: "False",
    },
    ...(spec.stopTimeout === undefined ? {} : { StopTimeout: spec.stopTimeout }),
    ...(spec.readyAfterSeconds === undefined
      ? {}
      : {
          Healthcheck: {
            Test: ["CMD", "test", "-f", "/tmp/ready"],
            Interval: 200_000_000,
            Timeout: 1_000_000_000,
            Retries: 1,
          },
        }),
    HostConfig: { NetworkMode: "none" },
  };
  const name = `${spec.project}-${spec.service}-${spec.number}`;
  const res = await engine.request("POST", `/containers/create?name=${encodeURIComponent(name)}`, body);
  if (res.status !== 201) throw new Error(`create container ${name}: ${res.status} ${res.body}`);
  const id = (JSON.parse(res.body) as { Id: string }).Id;
  if (spec.running !== false) await engine.start(id);
  return id;
}
