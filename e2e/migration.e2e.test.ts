/**
 * A database migration under the real Pulumi CLI: the source PostgreSQL is managed (not in
 * services, so it stays up by itself), the application tier on moto ECS goes down, the
 * database is backed up and copied to an empty database on a second PostgreSQL cluster.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase, fillTinesLike, withClient, type TestDatabase } from "../testkit/databases";
import {
  TEST_PG_PASSWORD,
  startMoto,
  startPostgres,
  type RunningServer,
} from "../testkit/servers/localServers";
import { createEcsStack, logRun } from "./ecsStack";
import { ecsDesiredCounts, type MotoEcs } from "../testkit/motoEcs";
import type { PulumiStack } from "../testkit/pulumiCli";

const COUNTS = { "tines-app": 2, "tines-command-runner": 1 };

/** Row count of every user table, by qualified name. */
async function rowCounts(url: string): Promise<Record<string, number>> {
  return withClient(url, async (client) => {
    const tables = await client.query<{ name: string }>(
      `SELECT quote_ident(schemaname) || '.' || quote_ident(relname) AS name FROM pg_stat_user_tables ORDER BY 1`,
    );
    const counts: Record<string, number> = {};
    for (const { name } of tables.rows) {
      const result = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${name}`);
      counts[name] = Number(result.rows[0].n);
    }
    return counts;
  });
}

describe("database migration to a second PostgreSQL, real Pulumi CLI", () => {
  let servers: RunningServer[] = [];
  let source: TestDatabase;
  let target: TestDatabase;
  let occupied: TestDatabase | undefined;
  let targetServer: RunningServer;
  let ecs: MotoEcs;
  let stack: PulumiStack;
  let backupDir: string;

  beforeAll(async () => {
    const [pgSource, pgTarget, moto] = await Promise.all([
      startPostgres("e2e-mig-source"),
      startPostgres("e2e-mig-target"),
      startMoto(),
    ]);
    servers = [pgSource, pgTarget, moto];
    targetServer = pgTarget;
    source = await createDatabase(pgSource.url, "tines_src");
    await fillTinesLike(source.url, { rows: 3000, largeRows: 2 });
    target = await createDatabase(pgTarget.url, "tines_dst");
    backupDir = mkdtempSync(path.join(os.tmpdir(), "tines-maint-e2e-mig-backup-"));

    ({ stack, ecs } = await createEcsStack({
      stack: "e2e-migration",
      moto,
      cluster: "tines-e2e-mig",
      counts: COUNTS,
      config: { "database.backup.directory": backupDir, "database.migration.jobs": 2 },
    }));
    await stack.setSecret("database.url", source.url);
    await stack.setSecret("database.migration.targetUrl", target.url);
  });

  afterAll(async () => {
    await source?.drop().catch(() => undefined);
    await target?.drop().catch(() => undefined);
    await occupied?.drop().catch(() => undefined);
    await Promise.all(servers.map((s) => s.stop()));
    if (backupDir) rmSync(backupDir, { recursive: true, force: true });
    if (stack && !process.env.E2E_KEEP) stack.remove();
  });

  it("shuts down, backs up, copies and verifies; the target matches the source", async () => {
    const preview = await stack.preview();
    expect(preview.code, preview.stdout + preview.stderr).toBe(0);
    expect(preview.stdout).toContain("::database-migration]");
    expect(await rowCounts(target.url)).toEqual({});

    const result = await stack.up("e2e: migrate the database");
    const output = logRun("up (shutdown + migration)", result);
    expect(result.code, output).toBe(0);

    expect(await ecsDesiredCounts(ecs, Object.keys(COUNTS))).toEqual({
      "tines-app": 0,
      "tines-command-runner": 0,
    });
    const sourceCounts = await rowCounts(source.url);
    expect(Object.keys(sourceCounts).length).toBeGreaterThan(0);
    expect(await rowCounts(target.url)).toEqual(sourceCounts);
    expect(readdirSync(backupDir)).toHaveLength(1);

    const outputs = await stack.outputs();
    const migration = (outputs.audit as { databaseMigration?: { tables: number; mismatches: number } })
      .databaseMigration;
    expect(migration).toMatchObject({ tables: Object.keys(sourceCounts).length, mismatches: 0 });
    for (const text of [JSON.stringify(outputs), readFileSync(stack.stateFile(), "utf8"), output]) {
      expect(text).not.toContain(TEST_PG_PASSWORD);
    }
  });

  it("refuses a target that already holds data and leaves it untouched", async () => {
    // An operator's slip: the new target is some other, populated database.
    occupied = await createDatabase(targetServer.url, "tines_busy");
    await withClient(occupied.url, (c) =>
      c.query(
        "CREATE TABLE important (id int PRIMARY KEY, note text); INSERT INTO important VALUES (1, 'keep me')",
      ),
    );
    await stack.setSecret("database.migration.targetUrl", occupied.url);
    const result = await stack.up("e2e: migrate onto a populated target");
    const output = result.stdout + result.stderr;
    console.log(`--- up (populated target): exit ${result.code} in ${result.seconds.toFixed(1)} s`);
    console.log(output.slice(output.indexOf("Diagnostics:")));
    expect(result.code, output).not.toBe(0);
    expect(output).toMatch(/error: .*database-migration|database-migration.*error/);
    expect(await rowCounts(occupied.url)).toEqual({ "public.important": 1 });
    expect(output).not.toContain(TEST_PG_PASSWORD);
  });
});
