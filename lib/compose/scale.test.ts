import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { MaintenanceError } from "../errors";
import { parseDockerHost, type DockerEngine } from "./engine";
import { readiness, scaleComposeService } from "./scale";
import {
  createComposeContainer,
  startTestEngine,
  type ComposeContainerSpec,
  type TestEngine,
} from "../../testkit/servers/dockerEngine";
import { recordingReporter } from "../../testkit/recordingReporter";

let test: TestEngine;
let engine: DockerEngine;

beforeAll(async () => {
  test = await startTestEngine();
  engine = test.engine;
}, 120_000);
afterAll(async () => test?.stop());

const project = () => `tines-${randomUUID().slice(0, 8)}`;
const request = { timeoutSeconds: 30, pollSeconds: 0.1 };

const stateOf = async (id: string) => (await engine.inspect(id)).State;

/** Container `number` of `service` in `project`, as `docker compose up` would have made it. */
const container = (
  project: string,
  service: string,
  number: number,
  spec: Omit<ComposeContainerSpec, "project" | "service" | "number"> = {},
) => createComposeContainer(engine, { project, service, number, ...spec });

/** `service` of `project` scaled to `count` within the test's bounds. */
const scale = (project: string, service: string, count: number, reporter = recordingReporter()) =>
  scaleComposeService(engine, { ...request, project, service, count }, reporter);

describe("scaleComposeService against a real Docker engine", () => {
  it("stops every container of the service, then starts them again", async () => {
    const p = project();
    const ids = [await container(p, "tines-sidekiq", 1), await container(p, "tines-sidekiq", 2)];
    const other = await container(p, "tines-app", 1);

    const down = await scale(p, "tines-sidekiq", 0);
    expect(down).toEqual({ previousCount: 2, reachedCount: 0, containers: 2, recreated: 0 });
    for (const id of ids) expect(await stateOf(id)).toMatchObject({ Running: false, Status: "exited" });
    expect(await stateOf(other)).toMatchObject({ Running: true });

    const up = await scale(p, "tines-sidekiq", 2);
    expect(up).toEqual({ previousCount: 0, reachedCount: 2, containers: 2, recreated: 0 });
    for (const id of ids) expect(await stateOf(id)).toMatchObject({ Running: true });
  });

  it("touches only its own project", async () => {
    const mine = project();
    const theirs = project();
    await container(mine, "tines-app", 1);
    const foreign = await container(theirs, "tines-app", 1);
    await scale(mine, "tines-app", 0);
    expect(await stateOf(foreign)).toMatchObject({ Running: true });
  });

  it("stops the highest-numbered containers when scaling down to a count above 0", async () => {
    const p = project();
    const first = await container(p, "tines-app", 1);
    const second = await container(p, "tines-app", 2);
    const result = await scale(p, "tines-app", 1);
    expect(result).toEqual({ previousCount: 2, reachedCount: 1, containers: 2, recreated: 0 });
    expect(await stateOf(first)).toMatchObject({ Running: true });
    expect(await stateOf(second)).toMatchObject({ Running: false });
  });

  it("gives a container its stop_grace_period before it is killed, as `docker compose stop` does", async () => {
    const p = project();
    const id = await container(p, "tines-sidekiq", 1, { stopTimeout: 2, ignoreTerm: true });
    const started = Date.now();
    await scale(p, "tines-sidekiq", 0);
    const seconds = (Date.now() - started) / 1000;
    expect(seconds).toBeGreaterThanOrEqual(1.8);
    expect(seconds).toBeLessThan(10);
    // Killed after the grace period, not exited on its own.
    expect(await stateOf(id)).toMatchObject({ Running: false, ExitCode: 137 });
  });

  it("waits on startup until a container with a healthcheck is healthy, reporting progress", async () => {
    const p = project();
    const id = await container(p, "tines-app", 1, { readyAfterSeconds: 1.5, running: false });
    const reporter = recordingReporter();
    const started = Date.now();
    const result = await scale(p, "tines-app", 1, reporter);
    expect(result.reachedCount).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    expect((await engine.inspect(id)).State.Health?.Status).toBe("healthy");
    expect(reporter.lines).toContain(
      `compose service "tines-app" (project ${p}): starting 1 container(s), 0 already running`,
    );
    expect(reporter.lines.some((l) => /: 0\/1 up, waiting; \d+s left$/.test(l))).toBe(true);
  });

  it("fails after the timeout when a container never becomes healthy, naming the last counts", async () => {
    const p = project();
    await container(p, "tines-app", 1, { readyAfterSeconds: 600, running: false });
    await expect(
      scaleComposeService(
        engine,
        { project: p, service: "tines-app", count: 1, timeoutSeconds: 1, pollSeconds: 0.2 },
        recordingReporter(),
      ),
    ).rejects.toThrow(
      `compose service "tines-app" (project ${p}) did not reach 1 running within 1s: last 0/1 up (states: starting)`,
    );
  });

  it("refuses a count above the containers the service has, starting nothing", async () => {
    const p = project();
    const id = await container(p, "tines-app", 1, { running: false });
    const promise = scale(p, "tines-app", 3);
    await expect(promise).rejects.toThrow(MaintenanceError);
    await expect(promise).rejects.toThrow(
      `config asks for 3 running but the service has 1 container(s); scale it first with \`docker compose -p ${p} up -d --no-recreate --scale tines-app=3 tines-app\``,
    );
    expect(await stateOf(id)).toMatchObject({ Running: false });
  });

  it("refuses a service with no containers, naming the project", async () => {
    await expect(scale("no-such-project", "tines-app", 0)).rejects.toThrow(
      /compose service "tines-app" \(project no-such-project\): no containers found/,
    );
  });
});

describe("compose helpers", () => {
  it("readiness: healthy or no healthcheck is up; paused, restarting and unhealthy are not", () => {
    expect(readiness({ Status: "running", Running: true })).toBe("up");
    expect(readiness({ Status: "running", Running: true, Health: { Status: "healthy" } })).toBe("up");
    expect(readiness({ Status: "running", Running: true, Health: { Status: "starting" } })).toBe("starting");
    expect(readiness({ Status: "running", Running: true, Health: { Status: "unhealthy" } })).toBe("starting");
    expect(readiness({ Status: "paused", Running: true, Paused: true })).toBe("starting");
    expect(readiness({ Status: "restarting", Running: false, Restarting: true })).toBe("starting");
    expect(readiness({ Status: "exited", Running: false })).toBe("down");
  });

  it("parseDockerHost accepts unix sockets and plain tcp, and names the allowed forms otherwise", () => {
    expect(parseDockerHost("unix:///var/run/docker.sock")).toEqual({ socketPath: "/var/run/docker.sock" });
    expect(parseDockerHost("tcp://10.0.0.5:2375")).toEqual({ host: "10.0.0.5", port: 2375 });
    expect(() => parseDockerHost("ssh://admin@host")).toThrow(
      'docker host "ssh://admin@host" is not supported; allowed: unix:///path/to/docker.sock or tcp://host:port (no TLS)',
    );
  });
});
