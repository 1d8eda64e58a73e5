import { describe, expect, it } from "vitest";
import { GateError, MaintenanceError, ConfigError } from "../errors";
import { migrateDatabase, verifyCopy, type MigrateOptions } from "./migrate";
import { parsePgUrl } from "./connection";
import { OWNER_ROLE, ensureRole, fillTinesLike, serverUrl, withClient } from "../../testkit/databases";
import { databasesPerTest } from "../../testkit/testScope";
import { TEST_PG_PASSWORD } from "../../testkit/servers/localServers";
import { recordingReporter } from "../../testkit/recordingReporter";

/** A copy from `sourceUrl` to `targetUrl` with its progress recorded, and what else the test sets. */
function migrate(sourceUrl: string, targetUrl: string, options: Partial<MigrateOptions> = {}) {
  return migrateDatabase({ sourceUrl, targetUrl, reporter: recordingReporter(), ...options });
}

const { created, database } = databasesPerTest("mig");

/** Tables with rows but no planner statistics (pg_statistic is written by ANALYZE only). */
async function unanalyzed(url: string): Promise<string[]> {
  return withClient(url, async (c) =>
    (
      await c.query<{ t: string }>(
        `SELECT c.oid::regclass::text AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
            AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0)
            AND c.reltuples > 0 AND NOT EXISTS (SELECT 1 FROM pg_statistic s WHERE s.starelid = c.oid)
          ORDER BY 1`,
      )
    ).rows.map((r) => r.t),
  );
}

async function tableList(url: string): Promise<string[]> {
  return withClient(url, async (c) =>
    (
      await c.query<{ t: string }>(
        "SELECT schemaname || '.' || tablename AS t FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
      )
    ).rows.map((r) => r.t),
  );
}

describe("migrateDatabase against two real PostgreSQL servers", () => {
  it("copies tables, indexes, sequences, jsonb and large rows, verifies them and shows per-table progress", async () => {
    await ensureRole(serverUrl("TEST_PG_SOURCE_URL"), OWNER_ROLE);
    await ensureRole(serverUrl("TEST_PG_TARGET_URL"), OWNER_ROLE);
    const source = await database("TEST_PG_SOURCE_URL");
    const target = await database("TEST_PG_TARGET_URL");
    await fillTinesLike(source.url, { rows: 3000, largeRows: 4, owner: OWNER_ROLE });
    const reporter = recordingReporter();

    const result = await migrate(source.url, target.url, { jobs: 2, reporter });

    expect(result.comparison.mismatches).toEqual([]);
    expect(result.comparison.tables.map((t) => t.name)).toEqual([
      "public.blobs",
      "public.empty_table",
      "tines.events",
      "tines.stories",
    ]);
    expect(result.comparison.totalRows).toBe(3000n + 50n + 4n);
    expect(result.comparison.tables.every((t) => t.checksum === "match")).toBe(true);
    expect(result.comparison.sequences).toBe(4);
    expect(result.report).toMatch(/identical/);
    // Independent of our own comparison: the target answers like the source.
    const probe =
      "SELECT count(*)::int AS n, sum((payload->>'n')::int)::int AS s, max(length(b.body))::int AS big, " +
      "(SELECT last_value::int FROM public.standalone_seq) AS seq, (SELECT relowner::regrole::text FROM pg_class WHERE oid = 'public.blobs'::regclass) AS owner " +
      "FROM tines.events, (SELECT body FROM public.blobs LIMIT 1) b";
    const [a, b] = await Promise.all(
      [source.url, target.url].map((u) => withClient(u, (c) => c.query(probe))),
    );
    expect(b.rows[0]).toEqual(a.rows[0]);
    expect(b.rows[0]).toMatchObject({ n: 3000, seq: 101, owner: OWNER_ROLE, big: 32768 * 32 });
    for (const phase of ["restore", "verify"]) {
      expect(reporter.lines.some((l) => l.startsWith(`${phase}: table tines.events done`))).toBe(true);
    }
    expect(reporter.lines.join("\n")).not.toContain(TEST_PG_PASSWORD);
    // Tines starts on planner statistics, not on none.
    expect(await unanalyzed(target.url)).toEqual([]);
  });

  it("detects a changed row, an extra row and a moved sequence after the copy", async () => {
    const source = await database("TEST_PG_SOURCE_URL");
    const target = await database("TEST_PG_TARGET_URL");
    await fillTinesLike(source.url, { rows: 500, largeRows: 1 });
    await migrate(source.url, target.url, { jobs: 2 });
    await withClient(target.url, async (c) => {
      await c.query("UPDATE tines.events SET payload = payload || '{\"x\": 1}' WHERE id = 7");
      await c.query("INSERT INTO tines.stories (id, name) VALUES (1000, 'extra')");
      await c.query("SELECT setval('public.standalone_seq', 500)");
    });
    const { comparison } = await verifyCopy(parsePgUrl(source.url, "s"), parsePgUrl(target.url, "t"), {
      jobs: 2,
      checksumMaxBytes: 1024 ** 3,
      compareOwners: true,
      reporter: recordingReporter(),
    });
    expect(comparison.mismatches).toEqual([
      "sequence public.standalone_seq: source 101/called, target 500/called",
      "table tines.events: content checksum differs",
      "table tines.stories: 50 rows on source, 51 on target",
      "table tines.stories: content checksum differs",
    ]);
  });

  it("refuses a non-empty target and leaves it untouched", async () => {
    const source = await database("TEST_PG_SOURCE_URL");
    const target = await database("TEST_PG_TARGET_URL");
    await fillTinesLike(source.url, { rows: 10, largeRows: 1 });
    await withClient(target.url, (c) =>
      c.query("CREATE TABLE keep_me (v int); INSERT INTO keep_me VALUES (1), (2)"),
    );

    const run = migrate(source.url, target.url);
    await expect(run).rejects.toThrow(GateError);
    await expect(run).rejects.toThrow(/is not empty .*table public\.keep_me.*--allow-non-empty-target/);
    expect(await tableList(target.url)).toEqual(["public.keep_me"]);
    const rows = await withClient(target.url, (c) => c.query("SELECT count(*)::int AS n FROM keep_me"));
    expect(rows.rows[0].n).toBe(2);
  });

  it("with allowNonEmptyTarget replaces a half-done copy and verifies it", async () => {
    const source = await database("TEST_PG_SOURCE_URL");
    const target = await database("TEST_PG_TARGET_URL");
    await fillTinesLike(source.url, { rows: 100, largeRows: 1 });
    await fillTinesLike(target.url, { rows: 30, largeRows: 0 });
    const result = await migrate(source.url, target.url, { allowNonEmptyTarget: true });
    expect(result.comparison.mismatches).toEqual([]);
    expect(result.comparison.totalRows).toBe(100n + 50n + 1n);
    expect(await unanalyzed(target.url)).toEqual([]);
  });

  it("refuses when a role that owns objects is missing on the target, unless noOwner", async () => {
    const role = `tines_only_src_${process.pid}`;
    await ensureRole(serverUrl("TEST_PG_SOURCE_URL"), role);
    const source = await database("TEST_PG_SOURCE_URL");
    const target = await database("TEST_PG_TARGET_URL");
    await fillTinesLike(source.url, { rows: 10, largeRows: 1, owner: role });
    const refused = migrate(source.url, target.url);
    await expect(refused).rejects.toThrow(new RegExp(`missing on the target: ${role}.*--no-owner`));
    expect(await tableList(target.url)).toEqual([]);

    const result = await migrate(source.url, target.url, { noOwner: true });
    expect(result.comparison.mismatches).toEqual([]);
  });

  it("creates a missing target database and refuses copying a database onto itself", async () => {
    const source = await database("TEST_PG_SOURCE_URL");
    await fillTinesLike(source.url, { rows: 5, largeRows: 0 });
    const url = new URL(serverUrl("TEST_PG_TARGET_URL"));
    const name = `${source.name}_new`;
    url.pathname = `/${name}`;
    created.push({
      name,
      url: url.toString(),
      drop: () =>
        withClient(serverUrl("TEST_PG_TARGET_URL"), (c) => c.query(`DROP DATABASE IF EXISTS ${name}`)).then(
          () => undefined,
        ),
    });
    const result = await migrate(source.url, url.toString());
    expect(result.comparison.mismatches).toEqual([]);

    await expect(migrate(source.url, source.url)).rejects.toThrow(ConfigError);
  });

  it("fails with one clear line, without the password, on unreachable hosts and bad credentials", async () => {
    const target = await database("TEST_PG_TARGET_URL");
    const closed = `postgresql://postgres:${TEST_PG_PASSWORD}@127.0.0.1:1/nowhere`;
    const run = migrate(closed, target.url);
    await expect(run).rejects.toThrow(MaintenanceError);
    await expect(run).rejects.toThrow(
      /cannot connect to the source PostgreSQL 127\.0\.0\.1:1 database nowhere: /,
    );
    await expect(run).rejects.not.toThrow(new RegExp(TEST_PG_PASSWORD));

    const wrong = new URL(target.url);
    wrong.password = "wrong-password-xyz";
    const bad = migrate(serverUrl("TEST_PG_SOURCE_URL"), wrong.toString());
    await expect(bad).rejects.toThrow(/cannot connect to the target .*password authentication failed/);
    await expect(bad).rejects.not.toThrow(/wrong-password-xyz/);
  });
});
