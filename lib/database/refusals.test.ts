/**
 * Every refusal of db-migrate leaves the target server exactly as it was (issue 12, item 4):
 * no database, role, schema or row created, whether the target database exists or not; and
 * nothing is left in the temp directory. Against the real test PostgreSQL servers.
 */
import { randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serverState } from "../../testkit/serverState";
import { mountTinyTmpfs } from "../../testkit/tmpfs";
import { ConfigError, GateError, MaintenanceError } from "../errors";
import { silentReporter } from "../progress";
import { migrateDatabase, type MigrateOptions } from "./migrate";
import { databaseUrl, ensureRole, fillTinesLike, serverUrl, withClient } from "../../testkit/databases";
import { startPostgres, type RunningServer } from "../../testkit/servers/localServers";
import { databasesPerTest, privateTmpdir } from "../../testkit/testScope";

// "The target server exactly as it was" covers every database and role on it, so the target is
// this file's own cluster: files running side by side create and drop theirs on the shared one.
let ownTarget: RunningServer | undefined;
const sharedTarget = process.env.TEST_PG_TARGET_URL;
beforeAll(async () => {
  ownTarget = await startPostgres("refusals-target");
  process.env.TEST_PG_TARGET_URL = ownTarget.url;
});
afterAll(async () => {
  process.env.TEST_PG_TARGET_URL = sharedTarget;
  await ownTarget?.stop();
});

/** Where the test's own scratch goes: not the temp dir the migration must leave empty. */
const outside = os.tmpdir();
const tmp = privateTmpdir("refusals-");
const { created, database } = databasesPerTest("ref");

async function source(fill: Parameters<typeof fillTinesLike>[1] = { rows: 20, largeRows: 1 }) {
  const db = await database("TEST_PG_SOURCE_URL");
  await fillTinesLike(db.url, fill);
  return db;
}

/** A target database that exists and holds one table, or a name that does not exist yet. */
async function target(kind: "existing" | "missing"): Promise<{ name: string; url: string }> {
  if (kind === "existing") {
    const db = await database("TEST_PG_TARGET_URL");
    await withClient(db.url, (c) =>
      c.query("CREATE TABLE keep_me (v int); INSERT INTO keep_me VALUES (1), (2)"),
    );
    return db;
  }
  const name = `ref_missing_${randomBytes(4).toString("hex")}`;
  const url = databaseUrl(serverUrl("TEST_PG_TARGET_URL"), name);
  created.push({
    name,
    url,
    drop: () =>
      withClient(serverUrl("TEST_PG_TARGET_URL"), (c) => c.query(`DROP DATABASE IF EXISTS ${name}`)).then(
        () => undefined,
      ),
  });
  return { name, url };
}

/** Run a migration that must be refused; the target server and the temp dir must not change. */
async function expectRefusal(
  targetDb: { name: string },
  options: Omit<MigrateOptions, "reporter">,
  error: new (...args: never[]) => Error,
  message: RegExp,
): Promise<void> {
  const server = serverUrl("TEST_PG_TARGET_URL");
  const before = await serverState(server, [targetDb.name]);
  const run = migrateDatabase({ ...options, reporter: silentReporter });
  await expect(run).rejects.toThrow(error);
  await expect(run).rejects.toThrow(message);
  expect(await serverState(server, [targetDb.name])).toEqual(before);
  expect(readdirSync(tmp())).toEqual([]);
}

describe.each(["missing", "existing"] as const)("refusals with the target database %s", (kind) => {
  // A non-empty target is allowed here where the refusal under test is another one.
  const allowNonEmptyTarget = kind === "existing";

  it("refuses pg_dump/pg_restore older than the servers, and a missing tool", async () => {
    const src = await source();
    const tgt = await target(kind);
    const old = mkdtempSync(path.join(outside, "old-tools-"));
    try {
      for (const tool of ["pg_dump", "pg_restore"]) {
        const file = path.join(old, tool);
        writeFileSync(file, `#!/bin/sh\necho "${tool} (PostgreSQL) 10.23"\n`);
        chmodSync(file, 0o755);
      }
      await expectRefusal(
        tgt,
        { sourceUrl: src.url, targetUrl: tgt.url, binDir: old, allowNonEmptyTarget },
        MaintenanceError,
        /pg_dump\/pg_restore 1\d or newer are needed for these servers; found only .*\(10\)/,
      );
      rmSync(path.join(old, "pg_restore"));
      const empty = { name: tgt.name };
      await expectRefusal(
        empty,
        { sourceUrl: src.url, targetUrl: tgt.url, binDir: old, allowNonEmptyTarget },
        MaintenanceError,
        /pg_dump\/pg_restore not found in .*old-tools-.*; install the PostgreSQL 1\d client tools/,
      );
    } finally {
      rmSync(old, { recursive: true, force: true });
    }
  });

  it("refuses when a role that owns the source's objects is missing on the target", async () => {
    const role = `tines_ref_only_src_${process.pid}`;
    await ensureRole(serverUrl("TEST_PG_SOURCE_URL"), role);
    const src = await source({ rows: 5, largeRows: 0, owner: role });
    const tgt = await target(kind);
    await expectRefusal(
      tgt,
      { sourceUrl: src.url, targetUrl: tgt.url, allowNonEmptyTarget },
      GateError,
      new RegExp(`missing on the target: ${role}; .*--no-owner`),
    );
  });

  it("refuses when the source uses an extension the target server does not have", async (context) => {
    const sharedir = spawnSync("pg_config", ["--sharedir"], { encoding: "utf8" }).stdout.trim();
    const name = `tines_ref_ext_${randomBytes(3).toString("hex")}`;
    const files = [
      path.join(sharedir, "extension", `${name}.control`),
      path.join(sharedir, "extension", `${name}--1.0.sql`),
    ];
    const src = await source({ rows: 5, largeRows: 0 });
    // Both test clusters share one installation: the extension is installed for the source's
    // CREATE EXTENSION only, then removed, so the target server no longer offers it.
    try {
      writeFileSync(files[0], "default_version = '1.0'\nrelocatable = true\n");
      writeFileSync(files[1], "CREATE FUNCTION tines_ref_probe() RETURNS int LANGUAGE sql AS 'SELECT 1';\n");
    } catch (error) {
      return context.skip(`cannot write to ${sharedir}/extension (${(error as Error).message})`);
    }
    try {
      await withClient(src.url, (c) => c.query(`CREATE EXTENSION ${name}`));
    } finally {
      for (const file of files) rmSync(file, { force: true });
    }
    const tgt = await target(kind);
    await expectRefusal(
      tgt,
      { sourceUrl: src.url, targetUrl: tgt.url, allowNonEmptyTarget },
      GateError,
      new RegExp(`extensions used by the source are not available on the target: ${name}`),
    );
  });

  it("refuses when the dump does not fit in the work directory", async (context) => {
    const tiny = mountTinyTmpfs(outside, 1024);
    if (!tiny) return context.skip("mounting a tmpfs needs root");
    try {
      const src = await source({ rows: 50, largeRows: 3 });
      const tgt = await target(kind);
      await expectRefusal(
        tgt,
        {
          sourceUrl: src.url,
          targetUrl: tgt.url,
          allowNonEmptyTarget: true,
          workDir: path.join(tiny.dir, "work"),
        },
        GateError,
        /not enough space in .*tines-tinyfs-.* for the dump: .* free, about .* needed/,
      );
      expect(readdirSync(tiny.dir)).toEqual([]);
    } finally {
      tiny.unmount();
    }
  });
});

describe("refusals that need no target database", () => {
  it("refuses a non-empty target without --allow-non-empty-target", async () => {
    const src = await source({ rows: 5, largeRows: 0 });
    const tgt = await target("existing");
    await expectRefusal(
      tgt,
      { sourceUrl: src.url, targetUrl: tgt.url },
      GateError,
      /is not empty \(1 objects, e\.g\. table public\.keep_me\); refusing and leaving it untouched/,
    );
  });

  it("refuses copying a database onto itself", async () => {
    const src = await source({ rows: 5, largeRows: 0 });
    const server = serverUrl("TEST_PG_SOURCE_URL");
    const before = await serverState(server, [src.name]);
    await expect(
      migrateDatabase({ sourceUrl: src.url, targetUrl: src.url, reporter: silentReporter }),
    ).rejects.toThrow(ConfigError);
    expect(await serverState(server, [src.name])).toEqual(before);
  });

  it("refuses to create a missing target database as a user who may not create databases", async () => {
    const src = await source({ rows: 5, largeRows: 0 });
    const tgt = await target("missing");
    const user = `tines_ref_nocreate_${process.pid}`;
    const server = serverUrl("TEST_PG_TARGET_URL");
    await withClient(server, (c) =>
      c.query(
        `DO $$ BEGIN CREATE ROLE ${user} LOGIN PASSWORD 'nocreate-secret' NOCREATEDB; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
      ),
    );
    const url = new URL(tgt.url);
    url.username = user;
    url.password = "nocreate-secret";
    await expectRefusal(
      tgt,
      { sourceUrl: src.url, targetUrl: url.toString(), noOwner: true },
      GateError,
      new RegExp(
        `target database ${tgt.name} does not exist and ${user} may not create databases; create it first`,
      ),
    );
  });
});
