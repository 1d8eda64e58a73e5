/**
 * What the streamed copy builds itself, read from the source's catalog inside the snapshot:
 * each table split into parts (page ranges read by TID range scans, PostgreSQL 14+), each
 * index and primary key / unique / exclusion constraint to build as soon as its table's rows
 * are in, and each foreign key to add once both its tables are indexed. Everything else in
 * the post-data section (triggers, rules, policies, partition index attachments, comments,
 * materialized view data) is left to pg_restore, which skips the items built here by their
 * catalog OIDs in its table of contents.
 */
import type { Client } from "pg";
import type { CopiedTable } from "./streamCopy";

const PAGE = 8192;

export interface TablePart {
  /** `table#i` */
  id: string;
  table: string;
  /** `WHERE` over ctid for this part; absent when the table goes in one piece. */
  ctidRange?: string;
  bytes: number;
}

export interface BuildItem {
  /** Catalog of the TOC entry (pg_class 1259 for indexes, pg_constraint 2606 for constraints) and OID. */
  tocKey: string;
  table: string;
  /** The statement, every name schema-qualified. */
  sql: string;
  /** Size of the source index: the estimate of how long the build takes. */
  bytes: number;
  /** For a foreign key, the table it references. */
  references?: string;
  label: string;
}

export interface CopyPlan {
  parts: TablePart[];
  /** Indexes and PK/unique/exclusion constraints. */
  indexes: BuildItem[];
  foreignKeys: BuildItem[];
  /** Non-generated columns of each table, for part copies. */
  columns: Map<string, string>;
  /** Size of each table's main fork (its heap without TOAST): what an index build reads. */
  mainBytes: Map<string, number>;
}

/** Parts of at most `partBytes` each; tables under it go whole. */
export function splitTable(table: string, mainBytes: number, partBytes: number): TablePart[] {
  const pages = Math.ceil(mainBytes / PAGE);
  const count = partBytes > 0 ? Math.ceil(mainBytes / partBytes) : 1;
  if (count <= 1) return [{ id: `${table}#0`, table, bytes: mainBytes }];
  const per = Math.ceil(pages / count);
  const parts: TablePart[] = [];
  for (let i = 0; i < count; i++) {
    const from = i * per;
    const to = (i + 1) * per;
    // The last part is open-ended: rows of the snapshot cannot be past the relation's end.
    const range =
      i === 0
        ? `ctid < '(${to},0)'::tid`
        : i === count - 1
          ? `ctid >= '(${from},0)'::tid`
          : `ctid >= '(${from},0)'::tid AND ctid < '(${to},0)'::tid`;
    parts.push({ id: `${table}#${i}`, table, ctidRange: range, bytes: Math.min(per, pages - from) * PAGE });
  }
  return parts;
}

/** Part size: a few parts per worker for the data as a whole, 32 MiB to 1 GiB each. */
export function partBytesFor(totalBytes: number, jobs: number): number {
  return Math.min(1024 ** 3, Math.max(32 * 1024 ** 2, Math.ceil(totalBytes / (jobs * 3))));
}

const USER_NS = (col: string) =>
  `${col} NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND ${col} NOT LIKE 'pg_temp_%' AND ${col} NOT LIKE 'pg_toast_temp_%'`;

/** Read the plan on a session inside the snapshot (its search_path is set empty here). */
export async function readCopyPlan(
  client: Client,
  tables: CopiedTable[],
  options: { jobs: number; serverMajor: number },
): Promise<CopyPlan> {
  // Empty search_path: pg_get_indexdef and friends then qualify every name.
  await client.query("SET search_path = ''");
  const copied = new Set(tables.map((t) => t.name));
  const generated = options.serverMajor >= 12 ? "AND a.attgenerated = ''" : "";
  const { rows: tableRows } = await client.query<{ name: string; main: string; columns: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name, pg_relation_size(c.oid)::text AS main,
            (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a
              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ${generated}) AS columns
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND ${USER_NS("n.nspname")}`,
  );
  const total = tables.reduce((sum, t) => sum + t.bytes, 0);
  const partBytes = options.serverMajor >= 14 ? partBytesFor(total, options.jobs) : 0;
  const columns = new Map<string, string>();
  const mainBytes = new Map<string, number>();
  const parts: TablePart[] = [];
  for (const row of tableRows) {
    if (!copied.has(row.name)) continue;
    columns.set(row.name, row.columns ?? "");
    mainBytes.set(row.name, Number(row.main));
    // Rows in TOAST are read with their table; only the main fork decides the split.
    const split = splitTable(row.name, Number(row.main), row.columns ? partBytes : 0);
    const toast = tables.find((t) => t.name === row.name)!.bytes - Number(row.main);
    split[0].bytes += Math.max(0, toast);
    parts.push(...split);
  }

  const { rows: indexRows } = await client.query<{
    index_oid: string;
    con_oid: string | null;
    table: string;
    indexdef: string;
    condef: string | null;
    conname: string | null;
    bytes: string;
    label: string;
  }>(
    `SELECT i.indexrelid::text AS index_oid, con.oid::text AS con_oid,
            format('%I.%I', tn.nspname, t.relname) AS table, pg_get_indexdef(i.indexrelid) AS indexdef,
            pg_get_constraintdef(con.oid) AS condef, quote_ident(con.conname) AS conname,
            pg_relation_size(i.indexrelid)::text AS bytes, format('%I.%I', n.nspname, ic.relname) AS label
       FROM pg_index i
       JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
       JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace
       LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
      WHERE t.relkind = 'r' AND ${USER_NS("tn.nspname")} AND i.indisvalid AND NOT i.indisclustered AND NOT i.indisreplident
        AND ic.reltablespace = 0
        AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
        AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indexrelid AND a.attstattarget > 0)`,
  );
  const indexes: BuildItem[] = indexRows
    .filter((r) => copied.has(r.table))
    .map((r) =>
      r.con_oid && r.condef
        ? {
            tocKey: `2606 ${r.con_oid}`,
            table: r.table,
            sql: `ALTER TABLE ONLY ${r.table} ADD CONSTRAINT ${r.conname} ${r.condef}`,
            bytes: Number(r.bytes),
            label: `constraint ${r.conname} on ${r.table}`,
          }
        : {
            tocKey: `1259 ${r.index_oid}`,
            table: r.table,
            sql: r.indexdef,
            bytes: Number(r.bytes),
            label: `index ${r.label}`,
          },
    );

  const { rows: fkRows } = await client.query<{
    oid: string;
    table: string;
    ref: string;
    conname: string;
    condef: string;
  }>(
    `SELECT con.oid::text AS oid, format('%I.%I', n.nspname, c.relname) AS table,
            format('%I.%I', rn.nspname, r.relname) AS ref, quote_ident(con.conname) AS conname,
            pg_get_constraintdef(con.oid) AS condef
       FROM pg_constraint con
       JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_class r ON r.oid = con.confrelid JOIN pg_namespace rn ON rn.oid = r.relnamespace
      WHERE con.contype = 'f' AND c.relkind = 'r' AND r.relkind = 'r' AND ${USER_NS("n.nspname")}
        ${options.serverMajor >= 11 ? "AND con.conparentid = 0" : ""}`,
  );
  const foreignKeys: BuildItem[] = fkRows
    .filter((r) => copied.has(r.table) && copied.has(r.ref))
    .map((r) => ({
      tocKey: `2606 ${r.oid}`,
      table: r.table,
      references: r.ref,
      sql: `ALTER TABLE ONLY ${r.table} ADD CONSTRAINT ${r.conname} ${r.condef}`,
      bytes: 0,
      label: `foreign key ${r.conname} on ${r.table}`,
    }));
  return { parts, indexes, foreignKeys, columns, mainBytes };
}

/**
 * The `pg_restore -L` list: the archive's table of contents with the items built here
 * commented out (matched by catalog and OID, which `pg_restore -l` prints on each line).
 */
export function restoreList(toc: string, built: Iterable<string>): string {
  const skip = new Set(built);
  return toc
    .split("\n")
    .map((line) => {
      const item = /^\d+; (\d+) (\d+) /.exec(line);
      return item && skip.has(`${item[1]} ${item[2]}`) ? `;${line}` : line;
    })
    .join("\n");
}

/**
 * What pg_restore still has to do of the post-data section (`pg_restore -l --section=post-data`):
 * the list with the built items commented out, or undefined when nothing is left (then no
 * pg_restore runs at all; comments on the built indexes and constraints are items of their own
 * and keep it running).
 */
export function remainingPostData(postDataToc: string, built: Iterable<string>): string | undefined {
  const list = restoreList(postDataToc, built);
  return /^\d+; /m.test(list) ? list : undefined;
}
