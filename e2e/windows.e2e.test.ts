/**
 * Two maintenance windows under the real Pulumi CLI, on moto ECS, two real Redis servers and
 * two real PostgreSQL clusters. Window 1 moves Redis and PostgreSQL (migration, endpoint
 * switch); the config of `sidekiq.redisUrl` and `database.url` is left as it was, as an
 * operator might. Window 2 must not sample the old Redis, dump the old database or restore
 * over the database that is now live, and `allowNonEmptyTarget` must not carry into it.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import Redis from "ioredis";
import { describe, expect, it } from "vitest";
import { withClient } from "../testkit/databases";
import { enqueue } from "../testkit/sidekiqJobs";
import {
  TEST_PASSWORDS,
  postgresBinDir,
  startMoto,
  startPostgres,
  startRedis,
} from "../testkit/servers/localServers";
import { createEnvSecret, ecsE2e, logRun } from "./ecsStack";
import { tinesRedisUrl } from "./stackConfig";
import { ecsDesiredCounts } from "../testkit/motoEcs";
import type { CliResult } from "../testkit/pulumiCli";

const COUNTS = { "tines-app": 2, "tines-sidekiq": 1, "tines-command-runner": 1 };
const SECRET_ID = "tines/windows/env";

describe("two windows: the second after Redis and PostgreSQL moved, real Pulumi CLI", () => {
  const env = ecsE2e(async ({ start, database, tempDir, ecsStack }) => {
    const [pgOld, pgNew, redisOld, redisNew, moto] = await start(
      startPostgres("e2e-win-old"),
      startPostgres("e2e-win-new"),
      startRedis(),
      startRedis(),
      startMoto(),
    );
    const oldRedisUrl = tinesRedisUrl(redisOld);
    const newRedisUrl = tinesRedisUrl(redisNew);
    const oldDb = await database(pgOld.url, "tines");
    await withClient(oldDb.url, (c) =>
      c.query(
        "CREATE TABLE stories (id int PRIMARY KEY, name text); INSERT INTO stories VALUES (1, 'first')",
      ),
    );
    const newDb = await database(pgNew.url, "tines");
    const backupDir = tempDir("tines-maint-e2e-win-backup-");

    const secret = await createEnvSecret(moto, SECRET_ID, {
      DATABASE_HOST: "127.0.0.1",
      REDIS_URL: oldRedisUrl,
    });

    const { stack, ecs } = await ecsStack({
      stack: "e2e-windows",
      moto,
      counts: COUNTS,
      config: {
        "sidekiq.intervalSeconds": 1,
        "sidekiq.windowSeconds": 20,
        "sidekiq.settleSeconds": 11,
        "sidekiq.timeoutSeconds": 120,
        "sidekiq.preflightSeconds": 2,
        "database.backup.directory": backupDir,
        "database.migration.jobs": 2,
        // Meant for window 1 only.
        "database.migration.allowNonEmptyTarget": true,
        "endpoints.databaseHost": "127.0.0.1",
        "endpoints.databasePort": Number(new URL(pgNew.url).port),
        ...secret.targetConfig,
        "endpoints.propagation.intervalSeconds": 1,
        "endpoints.propagation.timeoutSeconds": 30,
        "endpoints.propagation.ttlSeconds": 0,
      },
    });
    await stack.setSecret("sidekiq.redisUrl", oldRedisUrl);
    await stack.setSecret("database.url", oldDb.url);
    await stack.setSecret("database.migration.targetUrl", newDb.url);
    await stack.setSecret("endpoints.redisUrl", newRedisUrl);
    return { stack, ecs, newDb, newRedisUrl, backupDir };
  });

  const outputs: string[] = [];

  async function up(message: string): Promise<CliResult> {
    const result = await env.stack.up(message);
    outputs.push(logRun(message, result));
    return result;
  }

  /** What the new database holds that the old one does not: written by Tines after the switch. */
  const markerRows = () =>
    withClient(env.newDb.url, async (c) =>
      Number((await c.query("SELECT count(*) AS n FROM after_switch")).rows[0].n),
    );

  it("window 1: shutdown migrates and switches, startup comes up on the new servers", async () => {
    const down = await up("e2e: window 1 shutdown, move Redis and PostgreSQL");
    expect(down.code, down.stdout + down.stderr).toBe(0);
    const shutdownAudit = (await env.stack.outputs()).audit as { window?: { firstStopAt?: string } };
    expect(Date.parse(shutdownAudit.window?.firstStopAt ?? "")).toBeGreaterThan(0);

    await env.stack.setConfig({ phase: "running" });
    const upAgain = await up("e2e: window 1 startup");
    expect(upAgain.code, upAgain.stdout + upAgain.stderr).toBe(0);
    expect(upAgain.stdout + upAgain.stderr).toContain("allowNonEmptyTarget is still set");
    expect(await ecsDesiredCounts(env.ecs, Object.keys(COUNTS))).toEqual(COUNTS);
    // Tines now writes to the new database and queues jobs in the new Redis.
    await withClient(env.newDb.url, (c) =>
      c.query("CREATE TABLE after_switch (id int); INSERT INTO after_switch VALUES (1), (2)"),
    );
    expect(readdirSync(env.backupDir)).toHaveLength(1);
  });

  it("window 2 with the settings of window 1 is refused before anything stops", async () => {
    const redis = new Redis(env.newRedisUrl);
    await enqueue(redis, "default", 2);
    expect(await redis.llen("queue:default")).toBe(2);
    redis.disconnect();
    await env.stack.setConfig({ phase: "shutdown" });
    const result = await up("e2e: window 2 shutdown, stale settings");
    const output = result.stdout + result.stderr;
    expect(result.code).not.toBe(0);
    expect(output).toContain("tines-maintenance:sidekiq.redisUrl: points at Redis 127.0.0.1:");
    expect(output).toContain("tines-maintenance:database.url: points at 127.0.0.1:");
    expect(output).toContain("tines-maintenance:database.migration.targetUrl:");
    expect(output).toContain(
      "tines-maintenance:database.migration.allowNonEmptyTarget: was set for the window",
    );
    expect(output).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
    // Nothing stopped, nothing dumped, nothing restored.
    expect(await ecsDesiredCounts(env.ecs, Object.keys(COUNTS))).toEqual(COUNTS);
    expect(readdirSync(env.backupDir)).toHaveLength(1);
    expect(await markerRows()).toBe(2);
  });

  it("window 2 following the switch samples the new Redis and dumps the new database", async () => {
    await env.stack.setSecret("sidekiq.redisUrl", env.newRedisUrl);
    await env.stack.setSecret("database.url", env.newDb.url);
    await env.stack.removeConfig("database.migration");
    const queued = new Redis(env.newRedisUrl);
    expect(await queued.llen("queue:default")).toBe(2);
    queued.disconnect();
    // Every command the new Redis serves, to see when the drain gate reads the queue.
    const monitor = await new Redis(env.newRedisUrl).monitor();
    const queueReads: number[] = [];
    monitor.on("monitor", (_time: string, args: string[]) => {
      if (args.includes("queue:default")) queueReads.push(Date.now());
    });
    let finished = false;
    const running = up("e2e: window 2 shutdown, settings follow the switch").finally(() => (finished = true));
    // The jobs queued in the new Redis hold the drain gate until "Sidekiq" has done them. The
    // pre-flight reads the queue before anything stops; once tines-app is down, only the drain gate does.
    const deadline = Date.now() + 900_000;
    const waitFor = async (condition: () => Promise<boolean> | boolean) => {
      while (!finished && !(await condition()) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 500));
    };
    await waitFor(async () => (await ecsDesiredCounts(env.ecs, ["tines-app"]))["tines-app"] === 0);
    const appDownAt = Date.now();
    await waitFor(() => queueReads.filter((at) => at > appDownAt).length >= 3);
    const redis = new Redis(env.newRedisUrl);
    await redis.del("queue:default");
    redis.disconnect();
    monitor.disconnect();

    const result = await running;
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const audit = (await env.stack.outputs()).audit as {
      sidekiqDrain?: { samples: Array<{ pending: number }> };
      databaseBackup?: { location: string };
    };
    expect(Math.max(...(audit.sidekiqDrain?.samples ?? []).map((s) => s.pending))).toBe(2);
    const dump = audit.databaseBackup?.location ?? "";
    const listing = spawnSync(path.join(postgresBinDir(), "pg_restore"), ["--list", dump], {
      encoding: "utf8",
    });
    expect(listing.stdout).toContain("after_switch");
    expect(await markerRows()).toBe(2);
  });

  it("no password is in plain text in outputs, state or CLI output", async () => {
    const texts = [...(await env.stack.storedTexts()), ...outputs];
    for (const text of texts) {
      for (const password of TEST_PASSWORDS) expect(text).not.toContain(password);
    }
  });
});
