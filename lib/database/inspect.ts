/**
 * What a database holds, as far as a migration must preserve it, and the comparison of two
 * such descriptions. Content checksums are in checksum.ts; text rendering is pinned by
 * session settings so that both servers print every row identically.
 */
import type { Client } from "pg";

export interface TableStats {
  /** `schema.table`, quoted as PostgreSQL quotes identifiers. */
  name: string;
  bytes: number;
  rows?: string;
  /** Absent when the table is larger than the checksum limit. */
  checksum?: string;
}

export interface DatabaseDescription {
  serverVersionNum: number;
  schemas: string[];
  /** name -> version */
  extensions: Record<string, string>;
  tables: TableStats[];
  /** `schema.sequence` -> `last_value/is_called` */
  sequences: Record<string, string>;
  /** Object key (`column public.t`, `index public.i`, ...) -> definition. */
  definitions: Record<string, string>;
  /** Object key -> owning role. */
  owners: Record<string, string>;
  /** Roles that own objects or hold grants on them. */
  roles: string[];
}

/** Session settings that make `row::text` identical on any server of the same data. */
export const STABLE_TEXT_SETTINGS = [
  "SET DateStyle = 'ISO, MDY'",
  "SET TimeZone = 'UTC'",
  "SET IntervalStyle = 'postgres'",
  "SET extra_float_digits = 3",
  "SET bytea_output = 'hex'",
  "SET lc_monetary = 'C'",
];

const USER_NAMESPACE = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'`;
/** Members of extensions are created by CREATE EXTENSION, not by the dump. */
const NOT_EXTENSION_MEMBER = (catalog: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${catalog}'::regclass AND d.objid = ${oid} AND d.deptype = 'e')`;

async function rows<T>(client: Client, sql: string): Promise<T[]> {
  return (await client.query(sql)).rows as T[];
}

async function keyed(client: Client, sql: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const row of await rows<{ k: string; v: string }>(client, sql)) out[row.k] = row.v;
  return out;
}

/** Everything but row contents: cheap catalog queries. */
export async function describeSchema(
  client: Client,
): Promise<Omit<DatabaseDescription, "tables"> & { tables: TableStats[] }> {
  const [{ v: versionNum }] = await rows<{ v: string }>(
    client,
    "SELECT current_setting('server_version_num') AS v",
  );
  const schemas = (
    await rows<{ nspname: string }>(
      client,
      `SELECT n.nspname FROM pg_namespace n WHERE ${USER_NAMESPACE} ORDER BY 1`,
    )
  ).map((r) => r.nspname);
  const extensions = await keyed(client, "SELECT extname AS k, extversion AS v FROM pg_extension");
  const tables = (
    await rows<{ name: string; bytes: string }>(
      client,
      `SELECT format('%I.%I', n.nspname, c.relname) AS name, pg_table_size(c.oid)::bigint AS bytes
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'm') AND ${USER_NAMESPACE} AND ${NOT_EXTENSION_MEMBER("pg_class", "c.oid")}
        ORDER BY 1`,
    )
  ).map((r) => ({ name: r.name, bytes: Number(r.bytes) }));
  const sequenceNames = (
    await rows<{ name: string }>(
      client,
      `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'S' AND ${USER_NAMESPACE} AND ${NOT_EXTENSION_MEMBER("pg_class", "c.oid")} ORDER BY 1`,
    )
  ).map((r) => r.name);
  const sequences: Record<string, string> = {};
  for (const name of sequenceNames) {
    const [row] = await rows<{ last_value: string; is_called: boolean }>(
      client,
      `SELECT last_value::text, is_called FROM ${name}`,
    );
    sequences[name] = `${row.last_value}/${row.is_called ? "called" : "not called"}`;
  }
  const definitions = await keyed(
    client,
    `SELECT 'columns ' || format('%I.%I', n.nspname, c.relname) AS k,
            c.relkind::text || ': ' || string_agg(format('%I %s%s%s', a.attname, format_type(a.atttypid, a.atttypmod),
              CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
              coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')), ', ' ORDER BY a.attnum) AS v
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
      WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ${USER_NAMESPACE} AND ${NOT_EXTENSION_MEMBER("pg_class", "c.oid")}
      GROUP BY n.nspname, c.relname, c.relkind
     UNION ALL
     SELECT 'index ' || format('%I.%I', schemaname, indexname), indexdef FROM pg_indexes n
      WHERE ${USER_NAMESPACE.replace(/n\.nspname/g, "n.schemaname")}
     UNION ALL
     SELECT 'constraint ' || format('%I.%I', n.nspname, con.conname) || ' on ' || con.conrelid::regclass::text,
            pg_get_constraintdef(con.oid)
       FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace WHERE ${USER_NAMESPACE}
     UNION ALL
     SELECT 'view ' || format('%I.%I', n.nspname, c.relname), pg_get_viewdef(c.oid)
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('v', 'm') AND ${USER_NAMESPACE} AND ${NOT_EXTENSION_MEMBER("pg_class", "c.oid")}
     UNION ALL
     SELECT 'function ' || p.oid::regprocedure::text, md5(coalesce(p.prosrc, '') || coalesce(p.probin, ''))
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE ${USER_NAMESPACE} AND ${NOT_EXTENSION_MEMBER("pg_proc", "p.oid")}
     UNION ALL
     SELECT 'trigger ' || t.tgname || ' on ' || t.tgrelid::regclass::text, pg_get_triggerdef(t.oid)
       FROM pg_trigger t WHERE NOT t.tgisinternal
     UNION ALL
     SELECT 'type ' || format('%I.%I', n.nspname, t.typname),
            t.typtype::text || coalesce(': ' || (SELECT string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder)
                                             FROM pg_enum e WHERE e.enumtypid = t.oid), '')
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE t.typtype IN ('e', 'd') AND ${USER_NAMESPACE} AND ${NOT_EXTENSION_MEMBER("pg_type", "t.oid")}`,
  );
  const owners = await keyed(
    client,
    `SELECT 'schema ' || quote_ident(n.nspname) AS k, pg_get_userbyid(n.nspowner) AS v FROM pg_namespace n
      WHERE ${USER_NAMESPACE} AND n.nspname <> 'public'
     UNION ALL
     SELECT 'relation ' || format('%I.%I', n.nspname, c.relname), pg_get_userbyid(c.relowner)
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND ${USER_NAMESPACE} AND ${NOT_EXTENSION_MEMBER("pg_class", "c.oid")}
     UNION ALL
     SELECT 'function ' || p.oid::regprocedure::text, pg_get_userbyid(p.proowner)
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE ${USER_NAMESPACE} AND ${NOT_EXTENSION_MEMBER("pg_proc", "p.oid")}`,
  );
  const grantees = (
    await rows<{ role: string }>(
      client,
      `SELECT DISTINCT pg_get_userbyid(acl.grantee) AS role
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) acl
        WHERE ${USER_NAMESPACE} AND acl.grantee <> 0
       UNION
       SELECT DISTINCT pg_get_userbyid(acl.grantee) FROM pg_namespace n, aclexplode(n.nspacl) acl
        WHERE ${USER_NAMESPACE} AND acl.grantee <> 0 AND n.nspname <> 'public'`,
    )
  ).map((r) => r.role);
  const roles = [...new Set([...Object.values(owners), ...grantees])].sort();
  return {
    serverVersionNum: Number(versionNum),
    schemas,
    extensions,
    tables,
    sequences,
    definitions,
    owners,
    roles,
  };
}

/** Open sessions with stable text settings. */
export async function prepareSession(client: Client): Promise<void> {
  for (const statement of STABLE_TEXT_SETTINGS) await client.query(statement);
}

export interface Comparison {
  tables: Array<{
    name: string;
    sourceRows?: string;
    targetRows?: string;
    checksum: "match" | "differs" | "skipped" | "-";
  }>;
  sequences: number;
  schemas: number;
  extensions: number;
  definitions: number;
  totalRows: bigint;
  checksummedTables: number;
  mismatches: string[];
}

function compareMaps(
  kind: string,
  source: Record<string, string>,
  target: Record<string, string>,
  out: string[],
): void {
  for (const key of Object.keys(source).sort()) {
    if (!(key in target)) out.push(`${kind} ${key}: missing on target`);
    else if (source[key] !== target[key])
      out.push(`${kind} ${key}: source ${source[key]}, target ${target[key]}`);
  }
  for (const key of Object.keys(target).sort())
    if (!(key in source)) out.push(`${kind} ${key}: only on target`);
}

/** Every difference that makes the copy not a copy; owners only when they were kept. */
export function compareDescriptions(
  source: DatabaseDescription,
  target: DatabaseDescription,
  options: { compareOwners: boolean },
): Comparison {
  const mismatches: string[] = [];
  const toMap = (list: string[]) => Object.fromEntries(list.map((s) => [s, "present"]));
  compareMaps("schema", toMap(source.schemas), toMap(target.schemas), mismatches);
  compareMaps("extension", source.extensions, target.extensions, mismatches);
  compareMaps("definition", source.definitions, target.definitions, mismatches);
  compareMaps("sequence", source.sequences, target.sequences, mismatches);
  if (options.compareOwners) compareMaps("owner of", source.owners, target.owners, mismatches);
  const targetTables = new Map(target.tables.map((t) => [t.name, t]));
  const tables: Comparison["tables"] = [];
  let totalRows = 0n;
  let checksummedTables = 0;
  for (const s of source.tables) {
    const t = targetTables.get(s.name);
    targetTables.delete(s.name);
    if (!t) {
      mismatches.push(`table ${s.name}: missing on target`);
      tables.push({ name: s.name, sourceRows: s.rows, checksum: "-" });
      continue;
    }
    if (s.rows !== t.rows) mismatches.push(`table ${s.name}: ${s.rows} rows on source, ${t.rows} on target`);
    let checksum: Comparison["tables"][number]["checksum"] = "skipped";
    if (s.checksum !== undefined && t.checksum !== undefined) {
      checksum = s.checksum === t.checksum ? "match" : "differs";
      checksummedTables += 1;
      if (checksum === "differs") mismatches.push(`table ${s.name}: content checksum differs`);
    }
    totalRows += BigInt(s.rows ?? "0");
    tables.push({ name: s.name, sourceRows: s.rows, targetRows: t.rows, checksum });
  }
  for (const name of targetTables.keys()) mismatches.push(`table ${name}: only on target`);
  return {
    tables,
    sequences: Object.keys(source.sequences).length,
    schemas: source.schemas.length,
    extensions: Object.keys(source.extensions).length,
    definitions: Object.keys(source.definitions).length,
    totalRows,
    checksummedTables,
    mismatches,
  };
}

/** The comparison as the operator reads it: one line a table, then the summary and each mismatch. */
export function formatComparison(comparison: Comparison): string {
  const width = Math.max(5, ...comparison.tables.map((t) => t.name.length));
  const lines = [
    `${"table".padEnd(width)}  ${"source rows".padStart(14)}  ${"target rows".padStart(14)}  checksum`,
  ];
  for (const t of comparison.tables) {
    lines.push(
      `${t.name.padEnd(width)}  ${(t.sourceRows ?? "-").padStart(14)}  ${(t.targetRows ?? "-").padStart(14)}  ${t.checksum}`,
    );
  }
  lines.push(
    `${comparison.tables.length} tables (${comparison.checksummedTables} checksummed), ${comparison.totalRows} rows, ` +
      `${comparison.sequences} sequences, ${comparison.schemas} schemas, ${comparison.extensions} extensions, ` +
      `${comparison.definitions} definitions compared: ` +
      (comparison.mismatches.length === 0 ? "identical" : `${comparison.mismatches.length} mismatches`),
  );
  for (const m of comparison.mismatches) lines.push(`MISMATCH ${m}`);
  return lines.join("\n");
}
