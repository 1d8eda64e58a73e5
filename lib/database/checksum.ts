/**
 * Content checksums: a row count and an order-independent sum of per-row 64-bit hashes, so
 * neither side sorts. Where both servers are PostgreSQL 14 or newer the row hash combines one
 * extended hash per column, each with its own seed (the column's position), so that a value
 * moved to another column or another row changes the sum. A column whose type's hash could
 * call two different values equal (numeric 1.0 and 1.00, interval '1 day' and '24 hours', -0
 * and 0, jsonb numbers, arrays' bounds, enums hashed by OID, case-insensitive or
 * nondeterministic text) is first rendered as text: the check is as strict as comparing text
 * renderings. The per-column functions are called directly rather than through
 * `hash_record_extended(ROW(...))`, which builds and takes apart a composite for every row
 * (about 30% of the cost on narrow tables, measured in bench/README.md). Older servers get md5
 * of the row's text. The SQL is built once from the source's catalog and run unchanged on both
 * sides.
 */
import type { Client } from "pg";

/**
 * Built-in types whose hash function tells every two different values apart (by OID). An
 * array, not a Set: Pulumi's provider serialization copies module values as plain objects.
 */
const FAITHFUL_HASH_TYPES = [
  16, // bool
  17, // bytea
  18, // "char"
  19, // name
  20, // int8
  21, // int2
  23, // int4
  25, // text
  26, // oid
  1042, // bpchar
  1043, // varchar
  1082, // date
  1083, // time
  1114, // timestamp
  1184, // timestamptz
  2950, // uuid
];

/** First major version with `hash_record_extended`. */
export const HASH_MIN_MAJOR = 14;

export interface ColumnInfo {
  /** Quoted identifier. */
  name: string;
  /** OID of the type, or of its base type for a domain. */
  baseType: number;
  /** The column's collation compares bytes (no collation, C, POSIX or any deterministic one). */
  deterministic: boolean;
}

/**
 * Faithful types whose extended hash function SQL can call on the column itself: the
 * function of the type's default hash operator class (the one `hash_record_extended` uses;
 * for bool, whose function takes "char", int4's on 0 and 1). The other faithful types
 * (bytea's takes `internal`, date's and timestamptz's take another type with no lossless cast
 * for every value) are hashed together in one `hash_record_extended(ROW(...))`. A plain
 * object: see FAITHFUL_HASH_TYPES.
 */
export const DIRECT_HASH: Record<number, { fn: string; cast?: string }> = {
  16: { fn: "hashint4extended", cast: "int" }, // bool
  18: { fn: "hashcharextended" }, // "char"
  19: { fn: "hashnameextended" }, // name
  20: { fn: "hashint8extended" }, // int8
  21: { fn: "hashint2extended" }, // int2
  23: { fn: "hashint4extended" }, // int4
  25: { fn: "hashtextextended" }, // text
  26: { fn: "hashoidextended" }, // oid
  1042: { fn: "hashbpcharextended" }, // bpchar
  1043: { fn: "hashtextextended" }, // varchar, binary-coercible to text
  1083: { fn: "time_hash_extended" }, // time
  1114: { fn: "timestamp_hash_extended" }, // timestamp
  2950: { fn: "uuid_hash_extended" }, // uuid
};

/**
 * The per-row hash expression over `t`, given its columns: the XOR of one term per column
 * (its hash seeded with its position, or the position itself for NULL, since the hash
 * functions are strict), plus one `hash_record_extended` term for the faithful types SQL
 * cannot hash directly.
 */
export function rowHashExpression(columns: ColumnInfo[], hashing: boolean): string {
  if (!hashing) return `('x' || substr(md5(t::text), 1, 16))::bit(64)::bigint`;
  if (columns.length === 0) return "0::bigint";
  const terms: string[] = [];
  const inRecord: string[] = [];
  const term = (fn: string, value: string, seed: number) => `coalesce(${fn}(${value}, ${seed}), ${seed})`;
  columns.forEach((c, index) => {
    const column = `t.${c.name}`;
    const direct = DIRECT_HASH[c.baseType];
    if (!FAITHFUL_HASH_TYPES.includes(c.baseType) || !c.deterministic)
      terms.push(term("hashtextextended", `(${column}::text COLLATE "C")`, index + 1));
    else if (direct)
      terms.push(term(direct.fn, direct.cast ? `${column}::${direct.cast}` : column, index + 1));
    else inRecord.push(column);
  });
  if (inRecord.length > 0) terms.push(`hash_record_extended(ROW(${inRecord.join(", ")}), 0)`);
  return terms.join(" # ");
}

/** The query for one table: `rows` and `checksum`, or only `rows` when `withChecksum` is false. */
export function contentQuery(
  table: string,
  columns: ColumnInfo[],
  options: { hashing: boolean; withChecksum: boolean },
): string {
  if (!options.withChecksum) return `SELECT count(*)::text AS rows FROM ONLY ${table}`;
  return `SELECT count(*)::text AS rows, coalesce(sum(${rowHashExpression(columns, options.hashing)}), 0)::text AS checksum FROM ONLY ${table} t`;
}

/** Columns of every ordinary table and materialized view, keyed by `format('%I.%I')` name. */
export async function tableColumns(client: Client): Promise<Map<string, ColumnInfo[]>> {
  const { rows } = await client.query<{ table: string; name: string; base: number; deterministic: boolean }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS table, quote_ident(a.attname) AS name,
            (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END)::int AS base,
            a.attcollation = 0 OR coalesce((SELECT co.collisdeterministic FROM pg_collation co WHERE co.oid = a.attcollation), true) AS deterministic
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       JOIN pg_type t ON t.oid = a.atttypid
      WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      ORDER BY 1, a.attnum`,
  );
  const out = new Map<string, ColumnInfo[]>();
  for (const r of rows) {
    const list = out.get(r.table) ?? [];
    list.push({ name: r.name, baseType: Number(r.base), deterministic: r.deterministic });
    out.set(r.table, list);
  }
  return out;
}
