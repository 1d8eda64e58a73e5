/**
 * Every refusal of a presync, against real PostgreSQL 15: one line each, before anything
 * changes (no publication, no slot, no subscription, no target database created).
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GateError } from "../errors";
import { silentReporter } from "../progress";
import { startPresync } from "./presync";
import { presyncVersionProblem } from "./presyncChecks";
import { writeTargetMarker } from "./targetMarker";
import { startPostgres, type RunningServer } from "../../testkit/servers/localServers";
import {
  createDatabase,
  databaseUrl,
  fillTinesLike,
  serverUrl,
  withClient,
  type TestDatabase,
} from "../../testkit/databases";
import {
  databaseExists,
  fillForPresync,
  NOTHING_LEFT,
  replicationLeft,
  targetDatabase,
} from "../../testkit/presync";

const dbs: TestDatabase[] = [];
const roles: Array<{ server: string; role: string }> = [];
afterAll(async () => {
  await Promise.all(dbs.map((d) => d.drop()));
  for (const { server, role } of roles)
    await withClient(server, (c) => c.query(`DROP ROLE IF EXISTS ${role}`));
});

function missingTarget(prefix: string): TestDatabase {
  const t = targetDatabase(`${prefix}_${randomBytes(4).toString("hex")}`);
  dbs.push(t);
  return t;
}

/** A login role on `server`, and the URL of `database` as that role. */
async function loginRole(server: string, database: string, attributes = ""): Promise<string> {
  const role = `presync_${randomBytes(4).toString("hex")}`;
  const password = randomBytes(8).toString("hex");
  await withClient(server, (c) => c.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}' ${attributes}`));
  roles.push({ server, role });
  const url = new URL(databaseUrl(server, database));
  url.username = role;
  url.password = password;
  return url.toString();
}

/** Start a presync expecting a refusal; returns its one-line message, each problem separated by " | ". */
async function refusal(sourceUrl: string, targetUrl: string, stack = "test"): Promise<string[]> {
  const error = await startPresync({ sourceUrl, targetUrl, stack, reporter: silentReporter }).catch(
    (e: Error) => e,
  );
  expect(error).toBeInstanceOf(GateError);
  const message = (error as Error).message;
  expect(message).not.toMatch(/\n/);
  return message.split(" | ");
}

async function expectUnchanged(sourceUrl: string, target: TestDatabase): Promise<void> {
  expect(await replicationLeft(sourceUrl, target.url)).toEqual(NOTHING_LEFT);
  expect(await databaseExists(serverUrl("TEST_PG_TARGET_URL"), target.name)).toBe(false);
}

describe("presync refusals", () => {
  describe("a source server without logical replication, slots or WAL senders", () => {
    let limited: RunningServer;
    beforeAll(async () => {
      limited = await startPostgres("presync-limited", {
        wal_level: "replica",
        max_replication_slots: "0",
        max_wal_senders: "0",
      });
      await withClient(limited.url, (c) => c.query("CREATE DATABASE tines"));
      await fillForPresync(databaseUrl(limited.url, "tines"), { rows: 10, largeRows: 1 });
    }, 120_000);
    afterAll(async () => {
      await limited?.stop();
    });

    it("names wal_level, the free slots and the WAL senders, one line each", async () => {
      const target = missingTarget("rf_lim");
      const source = databaseUrl(limited.url, "tines");
      const problems = await refusal(source, target.url);
      expect(problems).toEqual([
        expect.stringMatching(
          /^source --from: wal_level is replica, logical replication needs logical: set wal_level = logical .*; it takes effect after a restart, so do it ahead of the window$/,
        ),
        expect.stringMatching(
          /no free replication slot \(max_replication_slots 0, 0 in use\); a presync needs 1/,
        ),
        expect.stringMatching(/no free WAL sender \(max_wal_senders 0, 0 in use\); a presync needs 1/),
      ]);
      await expectUnchanged(source, target);
    });

    it("on RDS, names rds.logical_replication and the reboot", async () => {
      await withClient(limited.url, (c) => c.query("CREATE ROLE rds_superuser NOLOGIN"));
      const target = missingTarget("rf_rds");
      const source = databaseUrl(limited.url, "tines");
      const [walLevel] = await refusal(source, target.url);
      expect(walLevel).toMatch(
        /wal_level is replica, logical replication needs logical: set rds\.logical_replication = 1 in the instance's DB parameter group; it takes effect after a reboot, so do it ahead of the window/,
      );
      await expectUnchanged(source, target);
    });
  });

  describe("on the test servers", () => {
    let src: TestDatabase;
    beforeAll(async () => {
      src = await createDatabase(serverUrl("TEST_PG_SOURCE_URL"), "rf");
      dbs.push(src);
      await fillForPresync(src.url, { rows: 10, largeRows: 1 });
    }, 120_000);

    it("a role that may neither replicate nor publish Tines' tables", async () => {
      const url = await loginRole(serverUrl("TEST_PG_SOURCE_URL"), src.name);
      await withClient(src.url, (c) => c.query(`GRANT USAGE ON SCHEMA tines TO ${new URL(url).username}`));
      const target = missingTarget("rf_role");
      const problems = await refusal(url, target.url);
      const role = new URL(url).username;
      expect(problems).toContainEqual(
        expect.stringMatching(new RegExp(`role ${role} may not replicate: ALTER ROLE ${role} REPLICATION$`)),
      );
      expect(problems).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `role ${role} may not create a publication in database ${src.name}: GRANT CREATE ON DATABASE`,
          ),
        ),
      );
      expect(problems).toContainEqual(
        expect.stringMatching(
          /may not publish tables it does not own: public\.blobs \(owner postgres\), .*; connect as the owner of Tines' tables/,
        ),
      );
      await expectUnchanged(src.url, target);
    });

    it("tables without a primary key or usable replica identity, with the fix for each", async () => {
      const keyless = await createDatabase(serverUrl("TEST_PG_SOURCE_URL"), "rfkey");
      dbs.push(keyless);
      await fillTinesLike(keyless.url, { rows: 10, largeRows: 1 });
      await withClient(keyless.url, (c) =>
        c.query(`CREATE TABLE public.tokens (token text NOT NULL, value text);
                 CREATE UNIQUE INDEX tokens_token ON public.tokens (token);
                 CREATE TABLE public.audit (at timestamptz, what text);
                 ALTER TABLE public.audit REPLICA IDENTITY NOTHING;`),
      );
      const target = missingTarget("rf_key");
      const problems = await refusal(keyless.url, target.url);
      expect(problems).toEqual([
        "source --from: tables without a primary key or usable REPLICA IDENTITY (the target could not apply their updates and deletes, and publishing them would make those fail on the source): " +
          "public.audit, public.empty_table, public.tokens; fix: ALTER TABLE public.audit ADD PRIMARY KEY (...); " +
          "ALTER TABLE public.empty_table ADD PRIMARY KEY (...); ALTER TABLE public.tokens REPLICA IDENTITY USING INDEX tokens_token",
      ]);
      await expectUnchanged(keyless.url, target);
    });

    it("a target role that may not subscribe", async () => {
      const server = serverUrl("TEST_PG_TARGET_URL");
      const target = missingTarget("rf_sub");
      await withClient(server, (c) => c.query(`CREATE DATABASE ${target.name}`));
      const url = await loginRole(server, target.name, "CREATEDB");
      const problems = await refusal(src.url, url);
      expect(problems).toEqual([
        expect.stringMatching(
          /^target --to: role presync_\w+ may not create a subscription: it needs to be a superuser \(on RDS: rds_superuser\)$/,
        ),
      ]);
      expect(await replicationLeft(src.url, target.url)).toEqual(NOTHING_LEFT);
    });

    it("a target that is not empty and not ours, or another stack's presync copy", async () => {
      const server = serverUrl("TEST_PG_TARGET_URL");
      const busy = missingTarget("rf_busy");
      await withClient(server, (c) => c.query(`CREATE DATABASE ${busy.name}`));
      await withClient(busy.url, (c) => c.query("CREATE TABLE live (id int primary key)"));
      expect(await refusal(src.url, busy.url)).toEqual([
        expect.stringMatching(
          /^target .* is not empty \(3 objects, e\.g\. table public\.live, index public\.live_pkey, .*\) and not a presync copy of ours; refusing and leaving it untouched/,
        ),
      ]);
      const foreign = missingTarget("rf_foreign");
      await withClient(server, (c) => c.query(`CREATE DATABASE ${foreign.name}`));
      await withClient(foreign.url, (c) =>
        writeTargetMarker(c, {
          stack: "other",
          windowStartedAt: new Date().toISOString(),
          purpose: "presync",
        }),
      );
      expect(await refusal(src.url, foreign.url)).toEqual([
        expect.stringMatching(
          /is a presync copy of stack other, not of test; refusing and leaving it untouched$/,
        ),
      ]);
      expect(await replicationLeft(src.url, foreign.url)).toEqual(NOTHING_LEFT);
    });

    it("the same database as source and target", async () => {
      await expect(
        startPresync({ sourceUrl: src.url, targetUrl: src.url, stack: "test", reporter: silentReporter }),
      ).rejects.toThrow(/--to: is the same database as --from/);
    });
  });

  it("versions that cannot replicate", () => {
    expect(presyncVersionProblem(9, 15)).toBe(
      "the source is PostgreSQL 9: logical replication needs PostgreSQL 10 or newer on both sides; migrate without presync",
    );
    expect(presyncVersionProblem(15, 14)).toMatch(/the target is PostgreSQL 14, older than the source's 15/);
    expect(presyncVersionProblem(12, 15)).toBeUndefined();
    expect(presyncVersionProblem(15, 15)).toBeUndefined();
  });
});
