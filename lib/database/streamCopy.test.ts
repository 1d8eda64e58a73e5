import { describe, expect, it } from "vitest";
import type { ProgressReporter } from "../progress";
import { migrateDatabase } from "./migrate";
import { parsePgUrl } from "./connection";
import { copyOrder, exactPattern, openLoaders, splitQualified, tablesToCopy } from "./streamCopy";
import { fillTinesLike, withClient } from "../../testkit/databases";
import { databasesPerTest } from "../../testkit/testScope";

function recorder(onLine?: (line: string) => void): ProgressReporter & { lines: string[] } {
  const lines: string[] = [];
  const add = (line: string) => {
    lines.push(line);
    onLine?.(line);
  };
  return { lines, info: add, warn: (m) => add(`warning: ${m}`) };
}

const { database } = databasesPerTest("scp");

describe("table names for pg_dump patterns", () => {
  it("splits quoted and plain identifiers and quotes every part", () => {
    expect(splitQualified("public.events")).toEqual(["public", "events"]);
    expect(splitQualified('"My.Schema"."Weird ""Name"""')).toEqual(["My.Schema", 'Weird "Name"']);
    expect(exactPattern('tines."a*b"')).toBe('"tines"."a*b"');
    expect(exactPattern('"Q"""."x.y"')).toBe('"Q"""."x.y"');
  });

  it("copies the largest tables first", () => {
    const order = copyOrder([
      { name: "b", bytes: 10 },
      { name: "a", bytes: 500 },
      { name: "c", bytes: 10 },
    ]).map((t) => t.name);
    expect(order).toEqual(["a", "b", "c"]);
  });
});

describe("loader sessions", () => {
  it("cancel a blocking autovacuum after 100 ms where the role may, and open without the right", async () => {
    const db = await database("TEST_PG_TARGET_URL");
    const role = `loader_${Math.random().toString(36).slice(2, 8)}`;
    await withClient(db.url, (c) => c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'loader-pw'`));
    try {
      const superuser = await openLoaders(parsePgUrl(db.url, "--target"), "UTF8", 1);
      const asOwner = new URL(db.url);
      asOwner.username = role;
      asOwner.password = "loader-pw";
      const plain = await openLoaders(parsePgUrl(asOwner.toString(), "--target"), "UTF8", 1);
      const setting = async (c: (typeof plain)[number]) =>
        (await c.query<{ deadlock_timeout: string }>("SHOW deadlock_timeout")).rows[0].deadlock_timeout;
      expect(await setting(superuser[0])).toBe("100ms");
      expect(await setting(plain[0])).toBe("1s");
      expect((await plain[0].query<{ ok: number }>("SELECT 1 AS ok")).rows[0].ok).toBe(1);
      await Promise.all([...superuser, ...plain].map((c) => c.end()));
    } finally {
      await withClient(db.url, (c) => c.query(`DROP ROLE ${role}`));
    }
  });
});

/** Every row of a table as text, in key order: an independent comparison of both sides. */
async function tableText(url: string, table: string, key: string): Promise<string> {
  return withClient(url, async (c) => {
    await c.query(
      "SET extra_float_digits = 3; SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET IntervalStyle = 'postgres'",
    );
    const { rows } = await c.query<{ t: string }>(
      `SELECT coalesce(string_agg(x::text, E'\\n' ORDER BY ${key}), '') AS t FROM ${table} x`,
    );
    return rows[0].t;
  });
}

describe("streamed copy against two real PostgreSQL servers", () => {
  it("copies the snapshot while the source is being written to, and warns about the writes", async () => {
    const source = await database("TEST_PG_SOURCE_URL");
    const target = await database("TEST_PG_TARGET_URL");
    await fillTinesLike(source.url, { rows: 20000, largeRows: 2 });
    const before = await tableText(source.url, "tines.events", "id");
    const storiesBefore = await tableText(source.url, "tines.stories", "id");
    let writes: Promise<unknown> | undefined;
    const reporter = recorder((line) => {
      // The first table starting means the snapshot is taken; these commit during the copy.
      if (writes || !line.startsWith("restore: table")) return;
      writes = withClient(source.url, async (c) => {
        await c.query(
          "INSERT INTO tines.events (story_id, payload) SELECT 1, '{\"late\": true}' FROM generate_series(1, 500)",
        );
        await c.query("UPDATE tines.stories SET name = name || ' (renamed)' WHERE id <= 10");
        await c.query("DELETE FROM tines.events WHERE id <= 100");
      });
    });

    const result = await migrateDatabase({ sourceUrl: source.url, targetUrl: target.url, jobs: 2, reporter });
    await writes;

    expect(result.comparison.mismatches).toEqual([]);
    expect(await tableText(target.url, "tines.events", "id")).toBe(before);
    expect(await tableText(target.url, "tines.stories", "id")).toBe(storiesBefore);
    expect(await tableText(source.url, "tines.events", "id")).not.toBe(before);
    expect(
      reporter.lines.some((l) => /warning: .*wrote on the source server after the snapshot/.test(l)),
    ).toBe(true);
  });

  it("keeps exact floats, odd text, arrays, NULLs, generated and identity columns, partitions, views and large objects", async () => {
    const source = await database("TEST_PG_SOURCE_URL");
    const target = await database("TEST_PG_TARGET_URL");
    await withClient(source.url, async (c) => {
      // Settings a server may have that change COPY text; the copy must not depend on them.
      await c.query(
        `ALTER DATABASE ${source.name} SET extra_float_digits = -2;
         ALTER DATABASE ${source.name} SET DateStyle = 'SQL, DMY';
         ALTER DATABASE ${source.name} SET IntervalStyle = 'sql_standard';
         ALTER DATABASE ${source.name} SET idle_in_transaction_session_timeout = '300ms'`,
      );
    });
    await withClient(target.url, (c) => c.query(`ALTER DATABASE ${target.name} SET DateStyle = 'SQL, MDY'`));
    await withClient(source.url, async (c) => {
      await c.query(`
        CREATE EXTENSION IF NOT EXISTS citext;
        CREATE DOMAIN positive AS int CHECK (VALUE > 0);
        CREATE TABLE "Odd ""Name""" (
          id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          f8 float8, f4 real, n numeric, t text, tags text[], matrix int[][], j jsonb, b bytea,
          d date, ts timestamp, tz timestamptz, iv interval, p positive, label citext DEFAULT 'Mixed Case',
          doubled float8 GENERATED ALWAYS AS (f8 * 2) STORED);
        INSERT INTO "Odd ""Name""" (f8, f4, n, t, tags, matrix, j, b, d, ts, tz, iv, p) VALUES
          (0.1::float8 + 0.2::float8, 1.1, 1e-30, E'tab\\there\\nnew line \\\\ backslash, "quote", ünïcode 🐘', ARRAY['a', NULL, 'c,d'],
           '{{1,2},{3,4}}', '{"k": [1, null, "x"], "deep": {"a": 1.5e300}}', '\\x00ff5c0a',
           '2024-02-03', '2024-02-03 04:05:06.789', '2024-02-03 04:05:06+05', '1 year 2 mons 3 days 04:05:06', 7),
          ('NaN', '-Infinity', 'NaN', '', '{}', NULL, 'null', '', 'infinity', '-infinity', 'epoch', '-1 day', NULL),
          (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
        CREATE TABLE measurements (id int, at date NOT NULL, v float8) PARTITION BY RANGE (at);
        CREATE TABLE measurements_2023 PARTITION OF measurements FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
        CREATE TABLE measurements_2024 PARTITION OF measurements FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
        INSERT INTO measurements SELECT g, date '2023-06-01' + g, g / 3.0 FROM generate_series(1, 400) g;
        CREATE MATERIALIZED VIEW measurement_totals AS SELECT count(*) AS n, sum(v) AS s FROM measurements;
        CREATE UNLOGGED TABLE scratch (k text PRIMARY KEY, v int);
        INSERT INTO scratch SELECT 'k' || g, g FROM generate_series(1, 50) g;
        CREATE TABLE guarded (id int PRIMARY KEY, owner text);
        INSERT INTO guarded SELECT g, 'u' || g FROM generate_series(1, 20) g;
        ALTER TABLE guarded ENABLE ROW LEVEL SECURITY;
        SELECT lo_from_bytea(0, decode(repeat('abcd', 5000), 'hex'));
      `);
    });
    await fillTinesLike(source.url, { rows: 300, largeRows: 1 });
    // Binary COPY only where every column is built-in, an enum or a domain over one; citext
    // sends the odd table (and its floats) through the text format.
    const formats = await withClient(source.url, async (c) =>
      Object.fromEntries((await tablesToCopy(c)).map((t) => [t.name, t.binary])),
    );
    expect(formats).toEqual({
      'public."Odd ""Name"""': false,
      "public.measurements_2023": true,
      "public.measurements_2024": true,
      "public.scratch": true,
      "public.guarded": true,
      "public.blobs": true,
      "public.empty_table": true,
      "tines.events": true,
      "tines.stories": false,
    });
    const reporter = recorder();

    const result = await migrateDatabase({ sourceUrl: source.url, targetUrl: target.url, jobs: 2, reporter });

    expect(result.comparison.mismatches).toEqual([]);
    for (const [table, key] of [
      ["tines.events", "id"],
      ["tines.stories", "id"],
      ["public.blobs", "id"],
      ['"Odd ""Name"""', "id"],
      ["measurements", "id"],
      ["measurement_totals", "n"],
      ["scratch", "k"],
      ["guarded", "id"],
    ]) {
      expect(await tableText(target.url, table, key), table).toBe(await tableText(source.url, table, key));
    }
    const probe = `SELECT (SELECT f8 = 0.1::float8 + 0.2::float8 FROM "Odd ""Name""" WHERE id = 1) AS exact,
        (SELECT count(*)::int FROM measurements_2024) AS late,
        (SELECT relrowsecurity FROM pg_class WHERE oid = 'guarded'::regclass) AS rls,
        (SELECT md5(lo_get(oid)) FROM pg_largeobject_metadata LIMIT 1) AS lo,
        (SELECT last_value::int FROM "Odd ""Name""_id_seq") AS seq`;
    const [a, b] = await Promise.all(
      [source.url, target.url].map((u) => withClient(u, (c) => c.query(probe))),
    );
    expect(b.rows[0]).toEqual(a.rows[0]);
    expect(b.rows[0]).toMatchObject({ exact: true, late: 187, rls: true, seq: 3 });
    expect(b.rows[0].lo).toMatch(/^[0-9a-f]{32}$/);
    // Row security stays on for the copy's readers: a policy that hides rows would fail, not shrink the copy.
    expect(reporter.lines.some((l) => l.startsWith('restore: table public."Odd ""Name""" done'))).toBe(true);
  });
});
