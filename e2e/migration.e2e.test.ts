/**
 * A database migration under the real Pulumi CLI: the source PostgreSQL is managed (not in
 * services, so it stays up by itself), the application tier on moto ECS goes down, the
 * database is backed up and copied to an empty database on a second PostgreSQL cluster.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { withClient } from "../testkit/databases";
import { TEST_PG_PASSWORD } from "../testkit/servers";
import { createMigrationStack, ecsE2e, logRun } from "./ecsStack";
import { ecsDesiredCounts } from "../testkit/motoEcs";

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
  const env = ecsE2e(async (scope) => {
    const migration = await createMigrationStack(scope, {
      stack: "e2e-migration",
      counts: COUNTS,
      fill: { rows: 3000, largeRows: 2 },
    });
    /** Another database on the target's server, dropped after the file. */
    const otherTargetDatabase = (prefix: string) => scope.database(migration.targetServer.url, prefix);
    return { ...migration, otherTargetDatabase };
  });

  it("shuts down, backs up, copies and verifies; the target matches the source", async () => {
    const preview = await env.stack.preview();
    expect(preview.code, preview.stdout + preview.stderr).toBe(0);
    expect(preview.stdout).toContain("::database-migration]");
    expect(await rowCounts(env.target.url)).toEqual({});

    const result = await env.stack.up("e2e: migrate the database");
    const output = logRun("up (shutdown + migration)", result);
    expect(result.code, output).toBe(0);

    expect(await ecsDesiredCounts(env.ecs, Object.keys(COUNTS))).toEqual({
      "tines-app": 0,
      "tines-command-runner": 0,
    });
    const sourceCounts = await rowCounts(env.source.url);
    expect(Object.keys(sourceCounts).length).toBeGreaterThan(0);
    expect(await rowCounts(env.target.url)).toEqual(sourceCounts);
    expect(readdirSync(env.backupDir)).toHaveLength(1);

    const outputs = await env.stack.outputs();
    const migration = (outputs.audit as { databaseMigration?: { tables: number; mismatches: number } })
      .databaseMigration;
    expect(migration).toMatchObject({ tables: Object.keys(sourceCounts).length, mismatches: 0 });
    for (const text of [JSON.stringify(outputs), readFileSync(env.stack.stateFile(), "utf8"), output]) {
      expect(text).not.toContain(TEST_PG_PASSWORD);
    }
  });

  it("refuses a target that already holds data and leaves it untouched", async () => {
    // An operator's slip: the new target is some other, populated database.
    const occupied = await env.otherTargetDatabase("tines_busy");
    await withClient(occupied.url, (c) =>
      c.query(
        "CREATE TABLE important (id int PRIMARY KEY, note text); INSERT INTO important VALUES (1, 'keep me')",
      ),
    );
    await env.stack.setSecret("database.migration.targetUrl", occupied.url);
    const result = await env.stack.up("e2e: migrate onto a populated target");
    const output = logRun("up (populated target)", result);
    expect(result.code, output).not.toBe(0);
    expect(output).toMatch(/error: .*database-migration|database-migration.*error/);
    expect(await rowCounts(occupied.url)).toEqual({ "public.important": 1 });
    expect(output).not.toContain(TEST_PG_PASSWORD);
  });
});
