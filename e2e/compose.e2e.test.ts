/**
 * The whole program under the real Pulumi CLI with the policy pack, platform compose: a
 * Tines-shaped project brought up by the real Docker Compose v2 CLI on a private dockerd,
 * a real Sidekiq 6.4 working a job on a real Redis, and a real PostgreSQL and Redis as the
 * endpoints switched to. Every check of the containers is made with `docker compose ps` and
 * the engine's own events (`docker events`), not with the program's client.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEngine, type TestEngine } from "../testkit/servers/dockerEngine";
import { urlWithDb } from "../testkit/sidekiqJobs";
import {
  ComposeCli,
  TINES_COMPOSE_SERVICES,
  composeShutdownConfig,
  findComposeBinary,
  writeTinesProject,
  type DockerEvent,
} from "../testkit/compose";
import { pushJobs, rubyReport, startSidekiq, type SidekiqServer } from "../testkit/servers/sidekiq";
import {
  TEST_REDIS_USER_PASSWORD,
  startPostgres,
  startRedis,
  type RunningServer,
} from "../testkit/servers/localServers";
import { PulumiStack, type CliResult } from "../testkit/pulumiCli";
import { SEED_COMPOSE_ORDER } from "../testkit/runbook";

const PROJECT = "tines";
const GRACES: Record<string, number> = { "tines-sidekiq": 6, "tines-app": 4, "tines-command-runner": 3 };
/** Sidekiq finishing its jobs ignores SIGTERM: only the grace period ends it (exit 137). */
const IGNORE_TERM = ["tines-sidekiq"];
/** An anonymous volume of postgres, whose data must survive the re-creation that brings the new .env in. */
const DATA_DIR = "/var/lib/postgresql/data";
const OLD_ENV = {
  DATABASE_HOST: "old-db.internal",
  REDIS_URL: "redis://old-redis.internal:6379/0",
  RAILS_ENV: "production",
};

function log(step: string, result: CliResult): void {
  console.log(`--- ${step}: exit ${result.code} in ${result.seconds.toFixed(1)} s`);
}

/** First and last event time (ms) of `actions` per service. */
function spans(events: DockerEvent[], actions: string[]): Record<string, { first: number; last: number }> {
  const out: Record<string, { first: number; last: number }> = {};
  for (const e of events) {
    if (!actions.includes(e.Action)) continue;
    const service = e.Actor.Attributes["com.docker.compose.service"];
    const at = e.timeNano / 1e6;
    const span = (out[service] ??= { first: at, last: at });
    span.first = Math.min(span.first, at);
    span.last = Math.max(span.last, at);
  }
  return out;
}

describe("compose: a project made by the real docker compose, real Pulumi CLI and policy pack", () => {
  let engine: TestEngine;
  let servers: RunningServer[] = [];
  let sidekiq: SidekiqServer | undefined;
  let cli: ComposeCli;
  let stack: PulumiStack;
  let projectDir: string;
  let sidekiqRedisUrl: string;
  let newRedisUrl: string;
  let pgPort: number;
  let containerIds: string[] = [];

  beforeAll(async () => {
    let redis: RunningServer;
    let pg: RunningServer;
    [engine, redis, pg] = await Promise.all([
      startTestEngine(),
      startRedis(),
      startPostgres("e2e-compose-db"),
    ]);
    servers = [redis, pg];
    pgPort = Number(new URL(pg.url).port);
    const redisPort = new URL(redis.url).port;
    sidekiqRedisUrl = urlWithDb(redis.url, 1);
    newRedisUrl = `redis://tines:${TEST_REDIS_USER_PASSWORD}@127.0.0.1:${redisPort}/2`;

    projectDir = mkdtempSync(path.join(os.tmpdir(), "tines-maint-compose-project-"));
    writeTinesProject(projectDir, {
      graces: GRACES,
      ignoreTerm: IGNORE_TERM,
      scale: { "tines-app": 2 },
      volumes: { postgres: [DATA_DIR] },
      env: OLD_ENV,
    });
    cli = new ComposeCli(engine.dockerHost, projectDir, PROJECT);
    await cli.ok(["up", "--detach", "--wait"]);
    await cli.ok(["exec", "-T", "postgres", "sh", "-c", `echo rows > ${DATA_DIR}/marker`]);
    const rows = await cli.ps();
    containerIds = rows.map((r) => r.ID);
    expect(rows.map((r) => [r.Service, r.State])).toEqual(
      [...TINES_COMPOSE_SERVICES, "tines-app"]
        .sort()
        .map((s) => [s, "running"])
        .sort((a, b) => a[0].localeCompare(b[0])),
    );

    stack = new PulumiStack({ stack: "e2e-compose" });
    console.log(`e2e: Pulumi CLI from ${stack.binDir}; stack dir ${stack.dir}; project ${projectDir}`);
    await stack.init();
    await stack.setConfig({
      ...composeShutdownConfig({
        projectName: PROJECT,
        projectDirectory: projectDir,
        dockerHost: engine.dockerHost,
        composeCli: findComposeBinary(),
        services: {
          nginx: 1,
          "tines-app": 2,
          "tines-sidekiq": 1,
          "tines-command-runner": 1,
          redis: 1,
          postgres: 1,
          "pypi-server": 1,
        },
      }),
      "sidekiq.intervalSeconds": 1,
      "sidekiq.windowSeconds": 5,
      "sidekiq.settleSeconds": 2,
      "sidekiq.timeoutSeconds": 60,
      "sidekiq.preflightSeconds": 1,
      "endpoints.databaseHost": "127.0.0.1",
      "endpoints.databasePort": pgPort,
      "endpoints.propagation.intervalSeconds": 1,
      "endpoints.propagation.timeoutSeconds": 30,
    });
    await stack.setSecret("sidekiq.redisUrl", sidekiqRedisUrl);
    await stack.setSecret("endpoints.redisUrl", newRedisUrl);
  });

  afterAll(async () => {
    await sidekiq?.stop();
    if (cli) {
      await cli.compose(["down", "--timeout", "0"]);
      cli.remove();
    }
    await engine?.stop();
    await Promise.all(servers.map((s) => s.stop()));
    if (projectDir) rmSync(projectDir, { recursive: true, force: true });
    if (stack && !process.env.E2E_KEEP) stack.remove();
  });

  it("a. preview with the policy pack changes nothing", async () => {
    const state = async () => (await cli.ps()).map((r) => [r.ID, r.State, r.ExitCode]);
    const before = await state();
    const started = Date.now();
    const result = await stack.preview();
    log("preview (shutdown)", result);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(await state()).toEqual(before);
    const touched = (await cli.events(started, Date.now())).filter((e) => !e.Action.startsWith("exec_"));
    expect(touched.map((e) => `${e.Action} ${e.Actor.Attributes.name}`)).toEqual([]);
    expect(readFileSync(path.join(projectDir, ".env"), "utf8")).toContain("DATABASE_HOST=old-db.internal");
  });

  /** `pulumi up`, expected to succeed, its diagnostics printed; with the times between which to read the engine's events. */
  async function upWithEvents(message: string, step: string) {
    const started = Date.now();
    const result = await stack.up(message);
    const finished = Date.now();
    const output = result.stdout + result.stderr;
    log(step, result);
    console.log(output.slice(output.indexOf("Diagnostics:")));
    expect(result.code, output).toBe(0);
    return { result, output, started, finished };
  }

  let shutdownJid = "";
  it("b. shutdown stops the services in the seed's order, honouring each stop_grace_period, after the drain gate", async () => {
    // A real Sidekiq works a 4 s job while the shutdown starts; the gate must wait for it.
    sidekiq = await startSidekiq({ redisUrl: sidekiqRedisUrl, concurrency: 1 });
    [shutdownJid] = await pushJobs(sidekiqRedisUrl, "SleepJob", [4]);
    const { result, output, started, finished } = await upWithEvents(
      "e2e: compose shutdown",
      "up (shutdown)",
    );

    const rows = await cli.ps();
    expect(rows.map((r) => r.ID).sort()).toEqual([...containerIds].sort());
    for (const row of rows) {
      expect(row.State, row.Name).toBe("exited");
      expect(row.ExitCode, row.Name).toBe(IGNORE_TERM.includes(row.Service) ? 137 : 0);
    }

    const events = await cli.events(started, finished + 1000);
    const died = spans(events, ["die"]);
    const killed = spans(events, ["kill"]);
    const order = Object.entries(died)
      .sort((a, b) => a[1].first - b[1].first)
      .map(([service]) => service);
    expect(order).toEqual(SEED_COMPOSE_ORDER);
    // Each step finished before the next one began.
    for (let i = 1; i < SEED_COMPOSE_ORDER.length; i++) {
      expect(killed[SEED_COMPOSE_ORDER[i]].first).toBeGreaterThanOrEqual(
        died[SEED_COMPOSE_ORDER[i - 1]].last,
      );
    }
    // The TERM-ignoring Sidekiq container got exactly its grace period before SIGKILL.
    const sidekiqStop = (died["tines-sidekiq"].last - killed["tines-sidekiq"].first) / 1000;
    expect(sidekiqStop).toBeGreaterThanOrEqual(GRACES["tines-sidekiq"]);
    expect(sidekiqStop).toBeLessThan(GRACES["tines-sidekiq"] + 2);
    const signals = events
      .filter(
        (e) => e.Action === "kill" && e.Actor.Attributes["com.docker.compose.service"] === "tines-sidekiq",
      )
      .map((e) => e.Actor.Attributes.signal);
    expect(signals).toEqual(["15", "9"]);

    // The drain gate let the real job finish before tines-sidekiq was stopped; nothing lost.
    const report = await rubyReport(sidekiqRedisUrl);
    expect(report.jids.done).toEqual([shutdownJid]);
    expect(report.doneAt[shutdownJid] * 1000).toBeLessThan(killed["tines-sidekiq"].first);

    // The .env switch, written once everything was down; the previous file kept.
    const env = readFileSync(path.join(projectDir, ".env"), "utf8");
    expect(env).toBe(`DATABASE_HOST=127.0.0.1\nREDIS_URL=${newRedisUrl}\nRAILS_ENV=production\n`);
    expect(readdirSync(projectDir).filter((f) => f.startsWith(".env.bak-"))).toHaveLength(1);
    expect(await cli.ok(["config", "--format", "json"])).toContain('"DATABASE_HOST": "127.0.0.1"');

    const engineWait =
      SEED_COMPOSE_ORDER.reduce((sum, s) => sum + (died[s].last - killed[s].first), 0) / 1000;
    console.log(
      `compose shutdown: wall ${result.seconds.toFixed(1)} s (pulumi up), engine's own stop time ${engineWait.toFixed(1)} s ` +
        `(${SEED_COMPOSE_ORDER.map((s) => `${s} ${((died[s].last - killed[s].first) / 1000).toFixed(1)}`).join(", ")}), ` +
        `from tines-app stopped to tines-sidekiq's stop (the drain gate) ${((killed["tines-sidekiq"].first - died["tines-app"].last) / 1000).toFixed(1)} s; ` +
        `pulumi's own ${/Duration: (\S+)/.exec(output)?.[1] ?? "?"}`,
    );
  });

  /** `DATABASE_HOST|REDIS_URL` as each running container's processes see them, by container name. */
  const envInside = async () => {
    const out: Record<string, string> = {};
    for (const row of await cli.ps()) {
      const exec = await cli.docker(["exec", row.ID, "sh", "-c", 'echo "$DATABASE_HOST|$REDIS_URL"']);
      out[row.Name] = exec.code === 0 ? exec.stdout.trim() : `exec failed: ${exec.stderr.trim()}`;
    }
    return out;
  };

  it("c. startup after the switch re-creates the containers with the new .env, in reverse order, each running (and healthy) before the next", async () => {
    await stack.setConfig({ phase: "running" });
    const { result, output, started, finished } = await upWithEvents("e2e: compose startup", "up (startup)");

    const rows = await cli.ps();
    // The .env switch changed every service's config (all read .env): each container was re-created.
    expect(rows.filter((r) => containerIds.includes(r.ID)).map((r) => r.Name)).toEqual([]);
    expect(rows).toHaveLength(containerIds.length);
    for (const row of rows) expect(row.State, row.Name).toBe("running");
    expect(rows.filter((r) => r.Service === "tines-app").map((r) => r.Health)).toEqual([
      "healthy",
      "healthy",
    ]);
    expect(output).toMatch(/re-created 2 container\(s\)/);

    const events = await cli.events(started, finished + 1000);
    const startedAt = spans(events, ["start"]);
    const healthy = spans(events, ["health_status: healthy"]);
    const order = Object.entries(startedAt)
      .sort((a, b) => a[1].first - b[1].first)
      .map(([service]) => service);
    expect(order).toEqual([...SEED_COMPOSE_ORDER].reverse());
    // tines-nginx started only once tines-app was healthy.
    expect(startedAt["tines-nginx"].first).toBeGreaterThanOrEqual(healthy["tines-app"].last);

    // Inside every running container: the switched endpoints, not the ones they were created with.
    const env = await envInside();
    expect(Object.keys(env)).toHaveLength(rows.length);
    for (const [name, value] of Object.entries(env)) expect(value, name).toBe(`127.0.0.1|${newRedisUrl}`);
    // postgres kept its anonymous volume through the re-creation.
    expect((await cli.ok(["exec", "-T", "postgres", "sh", "-c", `cat ${DATA_DIR}/marker`])).trim()).toBe(
      "rows",
    );
    containerIds = rows.map((r) => r.ID);

    const engineWait =
      Object.entries(startedAt).reduce(
        (sum, [s, span]) => sum + ((healthy[s]?.last ?? span.last) - span.first),
        0,
      ) / 1000;
    console.log(
      `compose startup: wall ${result.seconds.toFixed(1)} s (pulumi up), engine's own start/health time ${engineWait.toFixed(1)} s; ` +
        `pulumi's own ${/Duration: (\S+)/.exec(output)?.[1] ?? "?"}`,
    );
  });

  it("d. a window without a switch stops and starts the very same containers, which keep the new endpoints", async () => {
    // The window record now requires the drain gate to read the Redis Tines was switched to.
    await stack.setSecret("sidekiq.redisUrl", newRedisUrl);
    await stack.setConfig({ phase: "shutdown" });
    const shutdown = await stack.up("e2e: compose shutdown, no switch");
    log("up (shutdown, no switch)", shutdown);
    expect(shutdown.code, shutdown.stdout + shutdown.stderr).toBe(0);
    for (const row of await cli.ps()) expect(row.State, row.Name).toBe("exited");

    await stack.setConfig({ phase: "running" });
    const startup = await stack.up("e2e: compose startup, no switch");
    const output = startup.stdout + startup.stderr;
    log("up (startup, no switch)", startup);
    expect(startup.code, output).toBe(0);
    expect(output).not.toMatch(/re-created/);
    const rows = await cli.ps();
    expect(rows.map((r) => r.ID).sort()).toEqual([...containerIds].sort());
    for (const row of rows) expect(row.State, row.Name).toBe("running");
    for (const [name, value] of Object.entries(await envInside())) {
      expect(value, name).toBe(`127.0.0.1|${newRedisUrl}`);
    }
  });
});
