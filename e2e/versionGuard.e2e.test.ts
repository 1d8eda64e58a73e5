/**
 * The version guard under the real Pulumi CLI: a Tines service whose version changed while
 * everything was down (a new ECS task definition revision on moto; a Compose container
 * recreated from a new image on a private dockerd) keeps the startup from starting anything,
 * until the operator sets `versionGuard.allowChange`, which the audit then records.
 */
import { ECSClient, RegisterTaskDefinitionCommand, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createComposeContainer,
  startTestEngine,
  TEST_IMAGE,
  type TestEngine,
} from "../testkit/servers/dockerEngine";
import { NUMBER_LABEL, ONEOFF_LABEL, PROJECT_LABEL, SERVICE_LABEL } from "../lib/compose/engine";
import { startMoto, startPostgres, startRedis, type RunningServer } from "../testkit/servers/localServers";
import { startSidekiq, type SidekiqServer } from "../testkit/servers/sidekiq";
import { startTinesHealthServer, type TinesHealthServer } from "../testkit/servers/tinesHealth";
import { createEcsStack, logRun } from "./ecsStack";
import { ecsDesiredCounts, type MotoEcs } from "../testkit/motoEcs";
import { PulumiStack, type CliResult } from "../testkit/pulumiCli";
import { composeShutdownConfig } from "../testkit/compose";

interface VersionAudit {
  window?: {
    firstStopAt?: string;
    versions?: Record<string, string>;
    versionOverride?: { changes: string[]; at: string };
  };
  tinesHealth?: { healthyAt: string; status: string };
  downtime?: { from?: string; to: string; seconds?: number };
}

async function up(stack: PulumiStack, message: string): Promise<CliResult & { output: string }> {
  const result = await stack.up(message);
  return { ...result, output: logRun(message, result) };
}

describe("version guard and health gate on ECS (moto), real Pulumi CLI", () => {
  const COUNTS = { "tines-app": 2, "tines-command-runner": 1 };
  let moto: RunningServer;
  let servers: RunningServer[] = [];
  let sidekiq: SidekiqServer | undefined;
  let health: TinesHealthServer | undefined;
  let ecs: MotoEcs;
  let stack: PulumiStack;
  let firstStopAt = "";

  beforeAll(async () => {
    // Tines' /is_up on real dependencies: healthy once PostgreSQL, Redis and a Sidekiq process are up.
    const [pg, redis] = await Promise.all([startPostgres("e2e-health"), startRedis()]);
    servers = [pg, redis];
    health = await startTinesHealthServer({ databaseUrl: pg.url, redisUrl: redis.url });
    sidekiq = await startSidekiq({ redisUrl: redis.url });
    moto = await startMoto();
    ({ stack, ecs } = await createEcsStack({
      stack: "e2e-versions-ecs",
      moto,
      cluster: "tines-e2e-versions",
      counts: COUNTS,
      config: {
        "health.url": `${health.url}/is_up`,
        "health.timeoutSeconds": 60,
        "health.intervalSeconds": 1,
      },
    }));
  });

  afterAll(async () => {
    await sidekiq?.stop();
    await health?.stop();
    await Promise.all(servers.map((s) => s.stop()));
    await moto?.stop();
    if (stack && !process.env.E2E_KEEP) stack.remove();
  });

  it("shutdown records each service's task definition revision", async () => {
    const result = await up(stack, "e2e: shutdown records versions");
    expect(result.code, result.output).toBe(0);
    const audit = (await stack.outputs()).audit as VersionAudit;
    expect(audit.window?.versions?.["tines-app"]).toMatch(/task-definition\/tines-app:1$/);
    firstStopAt = audit.window?.firstStopAt ?? "";
    expect(Date.parse(firstStopAt)).toBeGreaterThan(0);
  });

  it("a new revision registered during the window stops the startup before anything starts", async () => {
    const api = new ECSClient({
      endpoint: ecs.endpoint,
      region: ecs.region,
      credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    });
    const td = await api.send(
      new RegisterTaskDefinitionCommand({
        family: "tines-app",
        containerDefinitions: [{ name: "tines-app", image: "tines/tines-app:next", memory: 512 }],
      }),
    );
    await api.send(
      new UpdateServiceCommand({
        cluster: ecs.cluster,
        service: "tines-app",
        taskDefinition: td.taskDefinition?.taskDefinitionArn,
      }),
    );
    await stack.setConfig({ phase: "running" });
    const result = await up(stack, "e2e: startup after an upgrade during the window");
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(
      /maintenance-window: refused to start anything: Tines changed during the window \(tines-app: \S+tines-app:1 -> \S+tines-app:2\)/,
    );
    expect(result.output).toContain("versionGuard.allowChange");
    expect(result.output).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
    expect(await ecsDesiredCounts(ecs, Object.keys(COUNTS))).toEqual({
      "tines-app": 0,
      "tines-command-runner": 0,
    });
  });

  it("starts with versionGuard.allowChange, waits for Tines healthy, and closes the downtime record", async () => {
    await stack.setConfig({ "versionGuard.allowChange": true });
    const result = await up(stack, "e2e: startup with the override");
    expect(result.code, result.output).toBe(0);
    expect(await ecsDesiredCounts(ecs, Object.keys(COUNTS))).toEqual(COUNTS);
    const audit = (await stack.outputs()).audit as VersionAudit;
    expect(audit.window?.versionOverride?.changes).toEqual([
      expect.stringMatching(/^tines-app: \S+tines-app:1 -> \S+tines-app:2$/),
    ]);
    expect(audit.tinesHealth?.status).toBe("HTTP 200");
    expect(audit.downtime?.from).toBe(firstStopAt);
    expect(audit.downtime?.to).toBe(audit.tinesHealth?.healthyAt);
    expect(audit.downtime?.seconds).toBeGreaterThan(0);
    // By address, not by the URL: the engine masks the configured URL (a secret) as [secret].
    expect(result.output).toMatch(/tines-health: Tines is healthy at 127\.0\.0\.1:\d+\/is_up \(HTTP 200\)/);
  });
});

describe("version guard on Docker Compose (private dockerd), real Pulumi CLI", () => {
  const PROJECT = "tines-e2e-versions";
  let engine: TestEngine;
  let stack: PulumiStack;
  let projectDirectory: string;
  let neverHealthy: TinesHealthServer | undefined;

  beforeAll(async () => {
    neverHealthy = await startTinesHealthServer({
      databaseUrl: "postgresql://tines@127.0.0.1:1/tines",
      redisUrl: "redis://127.0.0.1:1",
      never: true,
    });
    engine = await startTestEngine();
    for (const service of ["tines-app", "tines-command-runner"]) {
      await createComposeContainer(engine.engine, { project: PROJECT, service, number: 1 });
    }
    projectDirectory = mkdtempSync(path.join(os.tmpdir(), "tines-maint-e2e-compose-"));
    stack = new PulumiStack({ stack: "e2e-versions-compose" });
    await stack.init();
    await stack.setConfig(
      composeShutdownConfig({
        projectName: PROJECT,
        projectDirectory,
        dockerHost: engine.dockerHost,
        services: { "tines-app": 1, "tines-command-runner": 1 },
      }),
    );
  }, 180_000);

  afterAll(async () => {
    await neverHealthy?.stop();
    await engine?.stop();
    if (projectDirectory) rmSync(projectDirectory, { recursive: true, force: true });
    if (stack && !process.env.E2E_KEEP) stack.remove();
  });

  it("refuses the startup after tines-app was recreated from a new image, leaving every container stopped", async () => {
    const down = await up(stack, "e2e: compose shutdown records images");
    expect(down.code, down.output).toBe(0);
    const recorded = ((await stack.outputs()).audit as VersionAudit).window?.versions ?? {};
    expect(recorded["tines-app"]).toMatch(new RegExp(`^${TEST_IMAGE}@sha256:`));

    // `docker compose pull && docker compose up --no-start`, as an upgrade during the window would.
    const [old] = await engine.engine.listServiceContainers(PROJECT, "tines-app");
    const commit = await engine.engine.request(
      "POST",
      `/commit?container=${old.Id}&repo=tines-maintenance-test/busybox&tag=2`,
      {},
    );
    expect(commit.status).toBe(201);
    expect((await engine.engine.request("DELETE", `/containers/${old.Id}?force=true`)).status).toBe(204);
    const created = await engine.engine.request("POST", `/containers/create?name=${PROJECT}-tines-app-1`, {
      Image: "tines-maintenance-test/busybox:2",
      Cmd: ["sh", "-c", 'trap "exit 0" TERM; while true; do sleep 0.2; done'],
      Labels: {
        [PROJECT_LABEL]: PROJECT,
        [SERVICE_LABEL]: "tines-app",
        [NUMBER_LABEL]: "1",
        [ONEOFF_LABEL]: "False",
      },
      HostConfig: { NetworkMode: "none" },
    });
    expect(created.status).toBe(201);

    await stack.setConfig({ phase: "running" });
    const result = await up(stack, "e2e: compose startup after a new image");
    expect(result.code).not.toBe(0);
    expect(result.output).toContain(
      "maintenance-window: refused to start anything: Tines changed during the window (tines-app:",
    );
    for (const service of ["tines-app", "tines-command-runner"]) {
      const [container] = await engine.engine.listServiceContainers(PROJECT, service);
      expect((await engine.engine.inspect(container.Id)).State.Running, service).toBe(false);
    }
  });

  it("starts with the override; a Tines that never reports healthy fails the startup after the timeout", async () => {
    await stack.setConfig({
      "versionGuard.allowChange": true,
      "health.url": `${neverHealthy?.url}/health`,
      "health.timeoutSeconds": 10,
      "health.intervalSeconds": 1,
    });
    const failed = await up(stack, "e2e: compose startup, Tines never healthy");
    expect(failed.code).not.toBe(0);
    expect(failed.output).toMatch(
      /tines-health: Tines did not report healthy at 127\.0\.0\.1:\d+\/health within 10s; last answer: HTTP 200 healthy: false/,
    );
    expect(failed.output).toMatch(
      /waiting for Tines at 127\.0\.0\.1:\d+\/health: HTTP 200 healthy: false.*; \d+s left/,
    );
    expect(failed.output).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
    expect(failed.output).not.toContain("[object Object]");
  });

  it("with the health gate removed, the startup completes and the audit says which image changed", async () => {
    await stack.removeConfig("health");
    const result = await up(stack, "e2e: compose startup with the override");
    expect(result.code, result.output).toBe(0);
    const audit = (await stack.outputs()).audit as VersionAudit;
    expect(audit.window?.versionOverride?.changes).toEqual([
      expect.stringContaining("tines-app: tines-maintenance-test/busybox:1@sha256:"),
    ]);
    const [container] = await engine.engine.listServiceContainers(PROJECT, "tines-app");
    expect((await engine.engine.inspect(container.Id)).State.Running).toBe(true);
  });
});
