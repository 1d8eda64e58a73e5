/**
 * A migration whose target is the source under another spelling (issue 20, item 1): before,
 * `sameDatabase()` compared host, port and name as strings, so `localhost` for `127.0.0.1`
 * passed, and with allowNonEmptyTarget `pg_restore --clean` dropped and recreated every table
 * of the live source. Against the real test PostgreSQL, through migrateDatabase and through
 * `maint db-migrate` as an operator runs it.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { TEST_PG_PASSWORD } from "../../testkit/servers/localServers";
import {
  createDatabase,
  fillTinesLike,
  serverUrl,
  withClient,
  type TestDatabase,
} from "../../testkit/databases";
import { databasesPerTest } from "../../testkit/testScope";
import { GateError } from "../errors";
import { silentReporter } from "../progress";
import { migrateDatabase } from "./migrate";

const { created, database } = databasesPerTest("same");

async function source(): Promise<TestDatabase> {
  const db = await database("TEST_PG_SOURCE_URL");
  await fillTinesLike(db.url, { rows: 30, largeRows: 1 });
  return db;
}

/** The same server and database, spelled `localhost` (the hosts file maps it to 127.0.0.1). */
function otherSpelling(url: string): string {
  const parsed = new URL(url);
  expect(parsed.hostname).toBe("127.0.0.1");
  parsed.hostname = "localhost";
  return parsed.toString();
}

/** Every table's OID and row count: a restore over the source gives new OIDs. */
async function tables(url: string): Promise<string[]> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ name: string; oid: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS name, c.oid::text AS oid FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
    );
    const out: string[] = [];
    for (const r of rows) {
      const count = (await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${r.name}`)).rows[0].n;
      out.push(`${r.name} oid ${r.oid}: ${count} rows`);
    }
    return out;
  });
}

const SAME = /is the same database as .*refusing whatever .* says/;

describe("a target that is the source under another name", () => {
  it.each([true, false])(
    "is refused with allowNonEmptyTarget %s, naming both, and the source keeps every table",
    async (allowNonEmptyTarget) => {
      const src = await source();
      const before = await tables(src.url);
      const error = await migrateDatabase({
        sourceUrl: src.url,
        targetUrl: otherSpelling(src.url),
        allowNonEmptyTarget,
        reporter: silentReporter,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GateError);
      const message = (error as Error).message;
      expect(message).toMatch(SAME);
      const port = new URL(src.url).port;
      expect(message).toContain(`--to (PostgreSQL localhost:${port} database ${src.name})`);
      expect(message).toContain(`--from (PostgreSQL 127.0.0.1:${port} database ${src.name})`);
      expect(message).not.toContain(TEST_PG_PASSWORD);
      expect(await tables(src.url)).toEqual(before);
    },
  );

  it("is refused for a user who may not call pg_control_system(), as on some managed services", async () => {
    const server = serverUrl("TEST_PG_SOURCE_URL");
    const user = `tines_same_${process.pid}`;
    await withClient(server, (c) =>
      c.query(
        `DO $$ BEGIN CREATE ROLE ${user} LOGIN PASSWORD 'same-secret'; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
      ),
    );
    const db = await createDatabase(server, "same");
    created.push(db);
    // The user owns the database and everything in it, as an application's user does.
    await withClient(server, (c) => c.query(`ALTER DATABASE ${db.name} OWNER TO ${user}`));
    // Function privileges live in each database's own catalog: revoked in the test's only.
    await withClient(db.url, (c) => c.query("REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC"));
    const asUser = new URL(db.url);
    asUser.username = user;
    asUser.password = "same-secret";
    await fillTinesLike(asUser.toString(), { rows: 30, largeRows: 1 });
    await withClient(asUser.toString(), async (c) => {
      await expect(c.query("SELECT system_identifier FROM pg_control_system()")).rejects.toThrow(
        /permission denied/,
      );
    });
    const before = await tables(db.url);
    const error = await migrateDatabase({
      sourceUrl: asUser.toString(),
      targetUrl: otherSpelling(asUser.toString()),
      allowNonEmptyTarget: true,
      reporter: silentReporter,
    }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(SAME);
    expect((error as Error).message).toMatch(/the target server shows the source session among its own/);
    expect(await tables(db.url)).toEqual(before);
  });

  it("`maint db-migrate --allow-non-empty-target` refuses it in one line and exits 1", async () => {
    const src = await source();
    const before = await tables(src.url);
    const root = path.resolve(__dirname, "../..");
    const result = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        [
          "--import",
          "tsx",
          "cli/maint.ts",
          "db-migrate",
          "--from",
          "env:SAME_FROM",
          "--to",
          "env:SAME_TO",
          "--allow-non-empty-target",
        ],
        {
          cwd: root,
          env: { ...process.env, SAME_FROM: src.url, SAME_TO: otherSpelling(src.url) },
          timeout: 120_000,
        },
        (error, _stdout, stderr) =>
          resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stderr }),
      ),
    );
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split("\n");
    expect(lines.at(-1)).toMatch(
      new RegExp(`^maint db-migrate: --to \\(PostgreSQL localhost:\\d+ database ${src.name}\\)`),
    );
    expect(lines.at(-1)).toMatch(SAME);
    expect(result.stderr).not.toContain(TEST_PG_PASSWORD);
    expect(await tables(src.url)).toEqual(before);
  });
});
