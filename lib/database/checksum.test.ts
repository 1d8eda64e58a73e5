/**
 * The hashed checksum is as strict as comparing text renderings: one changed row in a large
 * table is caught, and so is every change a type's own hash function would miss (numeric
 * scale, interval units, jsonb number scale, case in citext, array bounds, enum labels).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "pg";
import { contentQuery, DIRECT_HASH, rowHashExpression, tableColumns } from "./checksum";
import { createDatabase, serverUrl, withClient, type TestDatabase } from "../../testkit/databases";

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

  it("calls each type's own hash support function (bool: int4's on 0/1)", async () => {
    await withClient(db.url, async (c) => {
      for (const [oid, { fn, cast }] of Object.entries(DIRECT_HASH)) {
        const { rows } = await c.query<{ support: string }>(
          `SELECT ap.amproc::text AS support
             FROM pg_opclass oc JOIN pg_amproc ap ON ap.amprocfamily = oc.opcfamily AND ap.amprocnum = 2
                  AND ap.amproclefttype = oc.opcintype AND ap.amprocrighttype = oc.opcintype
            WHERE oc.opcdefault AND oc.opcmethod = (SELECT oid FROM pg_am WHERE amname = 'hash')
              AND oc.opcintype = (CASE WHEN $1::oid = 'varchar'::regtype THEN 'text'::regtype ELSE $1::oid END)`,
          [oid],
        );
        expect(rows.map((r) => r.support)).toEqual([cast === "int" ? "hashcharextended" : fn]);
      }
    });
  });

  it("catches a change, a NULL and a move to another column, in every faithful type", async () => {
    const columns: Array<[string, string, string, string]> = [
      ["b", "bool", "true", "false"],
      ["ch", '"char"', `'a'`, `'b'`],
      ["nm", "name", `'tines'`, `'tinez'`],
      ["i8", "bigint", "8", "9"],
      ["i2", "smallint", "2", "3"],
      ["i4", "integer", "4", "5"],
      ["tx", "text", `'text'`, `'texts'`],
      ["o", "oid", "26", "27"],
      ["bp", "char(5)", `'ab'`, `'abc'`],
      ["vc", "varchar(9)", `'vc'`, `'vd'`],
      ["d", "date", `'2026-12-01'`, `'infinity'`],
      ["tm", "time", `'10:00'`, `'10:00:00.000001'`],
      ["ts", "timestamp", `'2026-12-01 10:00'`, `'-infinity'`],
      ["tz", "timestamptz", `'2026-12-01 10:00Z'`, `'2026-12-01 10:00:00.000001Z'`],
      ["u", "uuid", `'00000000-0000-0000-0000-000000000001'`, `'00000000-0000-0000-0000-000000000002'`],
      ["by", "bytea", `'\\x00'`, `'\\x0000'`],
      ["i8b", "bigint", "8", "9"],
    ];
    await withClient(db.url, async (c) => {
      await c.query(`CREATE TABLE every_type (${columns.map(([n, type]) => `${n} ${type}`).join(", ")})`);
      await c.query(
        `INSERT INTO every_type SELECT ${columns.map(([, , a]) => a).join(", ")} FROM generate_series(1, 2)`,
      );
      const base = (await checksum(c, "public.every_type")).checksum;
      const seen = new Set([base]);
      for (const [name, , a, b] of columns) {
        for (const value of [b, "NULL"]) {
          await c.query(
            `UPDATE every_type SET ${name} = ${value} WHERE ctid = (SELECT min(ctid) FROM every_type)`,
          );
          const changed = (await checksum(c, "public.every_type")).checksum;
          expect(seen.has(changed), `${name} = ${value}`).toBe(false);
          seen.add(changed);
          await c.query(`UPDATE every_type SET ${name} = ${a}`);
        }
      }
      expect((await checksum(c, "public.every_type")).checksum).toBe(base);
      // The same value in the other bigint column of the row.
      await c.query(`UPDATE every_type SET i8 = 9 WHERE ctid = (SELECT min(ctid) FROM every_type)`);
      const inFirstColumn = (await checksum(c, "public.every_type")).checksum;
      await c.query(`UPDATE every_type SET i8 = 8, i8b = 9 WHERE ctid = (SELECT min(ctid) FROM every_type)`);
      const inSecondColumn = (await checksum(c, "public.every_type")).checksum;
      expect(new Set([base, inFirstColumn, inSecondColumn]).size).toBe(3);
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
      `coalesce(hashint8extended(t.id, 1), 1) # coalesce(hashtextextended((t.payload::text COLLATE "C"), 2), 2) # ` +
        `coalesce(hashtextextended((t.name::text COLLATE "C"), 3), 3)`,
    );
    expect(
      rowHashExpression(
        [
          { name: "id", baseType: 23, deterministic: true },
          { name: "body", baseType: 17, deterministic: true },
          { name: "on", baseType: 1082, deterministic: true },
        ],
        true,
      ),
    ).toBe(`coalesce(hashint4extended(t.id, 1), 1) # hash_record_extended(ROW(t.body, t.on), 0)`);
    expect(rowHashExpression([], false)).toMatch(/md5\(t::text\)/);
  });
});
