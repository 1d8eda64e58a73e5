/**
 * The hashed checksum is as strict as comparing text renderings: one changed row in a large
 * table is caught, and so is every change a type's own hash function would miss (numeric
 * scale, interval units, jsonb number scale, case in citext, array bounds, enum labels).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "pg";
import { contentQuery, rowHashExpression, tableColumns } from "./checksum";
import { createDatabase, serverUrl, withClient, type TestDatabase } from "../../test/support/databases";

let db: TestDatabase;
beforeAll(async () => {
  db = await createDatabase(serverUrl("TEST_PG_SOURCE_URL"), "sum");
});
afterAll(async () => {
  await db.drop();
});

async function checksum(c: Client, table: string): Promise<{ rows: string; checksum: string }> {
  const columns = (await tableColumns(c)).get(table)!;
  return (await c.query(contentQuery(table, columns, { hashing: true, withChecksum: true }))).rows[0];
}

describe("hashed content checksums against a real PostgreSQL", () => {
  it("catches one changed row among 300,000, and a swap of values between two rows", async () => {
    await withClient(db.url, async (c) => {
      await c.query(`CREATE TABLE big (id bigint PRIMARY KEY, story_id bigint, payload jsonb, note text, at timestamptz);
        INSERT INTO big SELECT g, g % 500, jsonb_build_object('n', g, 'tags', jsonb_build_array(g % 7, md5(g::text))),
               md5(g::text), '2026-01-01'::timestamptz + make_interval(secs => g) FROM generate_series(1, 300000) g`);
      const before = await checksum(c, "public.big");
      expect(before.rows).toBe("300000");
      await c.query(`UPDATE big SET payload = jsonb_set(payload, '{n}', '150001') WHERE id = 150000`);
      const changed = await checksum(c, "public.big");
      expect(changed.rows).toBe("300000");
      expect(changed.checksum).not.toBe(before.checksum);
      await c.query(`UPDATE big SET payload = jsonb_set(payload, '{n}', '150000') WHERE id = 150000`);
      expect((await checksum(c, "public.big")).checksum).toBe(before.checksum);
      // Same multiset of column values, different rows: the row hash binds them together.
      await c.query(
        `UPDATE big SET note = CASE id WHEN 10 THEN md5('11') ELSE md5('10') END WHERE id IN (10, 11)`,
      );
      expect((await checksum(c, "public.big")).checksum).not.toBe(before.checksum);
    });
  });

  it.each([
    ["numeric scale", "numeric", "1.0", "1.00"],
    ["interval units", "interval", "'1 day'", "'24 hours'"],
    ["jsonb number scale", "jsonb", `'{"a": 1.0}'`, `'{"a": 1.00}'`],
    ["float zero sign", "double precision", "0", "'-0'"],
    ["citext case", "citext", "'Tines'", "'tines'"],
    ["array bounds", "int[]", "'{1,2}'", "'[2:3]={1,2}'"],
  ])("tells apart values its type's hash calls equal: %s", async (_what, type, a, b) => {
    await withClient(db.url, async (c) => {
      await c.query("CREATE EXTENSION IF NOT EXISTS citext");
      const table = `public.t_${Math.random().toString(36).slice(2, 8)}`;
      await c.query(`CREATE TABLE ${table} (id int, v ${type})`);
      await c.query(`INSERT INTO ${table} VALUES (1, ${a}::${type})`);
      const first = await checksum(c, table);
      await c.query(`UPDATE ${table} SET v = ${b}::${type}`);
      const second = await checksum(c, table);
      expect(second.checksum).not.toBe(first.checksum);
    });
  });

  it("hashes faithful types directly and renders the others as text", () => {
    const expr = rowHashExpression(
      [
        { name: "id", baseType: 20, deterministic: true },
        { name: "payload", baseType: 3802, deterministic: true },
        { name: "name", baseType: 25, deterministic: false },
      ],
      true,
    );
    expect(expr).toBe(
      `hash_record_extended(ROW(t.id, (t.payload::text COLLATE "C"), (t.name::text COLLATE "C")), 0)`,
    );
    expect(rowHashExpression([], false)).toMatch(/md5\(t::text\)/);
  });
});
