/**
 * Table data streamed from the source straight into the target, the way pgcopydb does it:
 * one exported snapshot on the source (kept open by a transaction for the whole copy), N
 * worker pairs that each join it, `COPY ... TO STDOUT` piped into `COPY ... FROM STDIN`.
 * Nothing touches the disk, the copy is as consistent as pg_dump's, and each table is
 * truncated in the loading transaction so `COPY FREEZE` writes frozen rows: no hint-bit
 * rewrite of every page when the verification reads them back.
 */
import { pipeline } from "node:stream/promises";
import type { Client } from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import { MaintenanceError } from "../errors";
import type { PgTarget } from "./connection";
import { connect, poolMap } from "./session";

/**
 * What pg_dump pins for its own COPY: text output that the target parses back to the same
 * values whatever either server's defaults are (3 extra float digits keep pre-12 floats exact).
 */
export function copySessionSettings(encoding: string): string[] {
  return [
    "SET DateStyle = 'ISO'",
    "SET IntervalStyle = 'postgres'",
    "SET extra_float_digits = 3",
    "SET TimeZone = 'UTC'",
    `SET client_encoding = '${encoding.replace(/'/g, "''")}'`,
    "SET statement_timeout = 0",
    "SET lock_timeout = 0",
    "SET idle_in_transaction_session_timeout = 0",
    // The same rendering as the verification's sessions, which run on these too.
    "SET bytea_output = 'hex'",
    "SET lc_monetary = 'C'",
  ];
}

/** Row security off on the source: a table that would hide rows fails instead of copying fewer. */
const SOURCE_ONLY = ["SET row_security = off"];
/**
 * The copy is verified at the end and redone from scratch on any failure; no need to wait
 * for the WAL flush. Index builds sort in memory, and one build is one core: the scheduler
 * decides how many run at once, not the server's parallel maintenance workers.
 */
export const TARGET_ONLY = [
  "SET synchronous_commit = off",
  "SET maintenance_work_mem = '256MB'",
  "SET max_parallel_maintenance_workers = 0",
];

/** Largest first, so the longest table does not start last and leave the other workers idle. */
export function copyOrder<T extends { name: string; bytes: number }>(tables: T[]): T[] {
  return [...tables].sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name));
}

/** `"schema"."table"` for pg_dump's `--exclude-table-data`, every character literal. */
export function exactPattern(qualified: string): string {
  const parts = splitQualified(qualified);
  return parts.map((p) => `"${p.replace(/"/g, '""')}"`).join(".");
}

/** Split `format('%I.%I')` output back into its two identifiers. */
export function splitQualified(qualified: string): [string, string] {
  const parts: string[] = [];
  let i = 0;
  while (i <= qualified.length) {
    if (qualified[i] === '"') {
      let j = i + 1;
      let name = "";
      while (j < qualified.length) {
        if (qualified[j] === '"' && qualified[j + 1] === '"') {
          name += '"';
          j += 2;
        } else if (qualified[j] === '"') break;
        else name += qualified[j++];
      }
      parts.push(name);
      i = j + 2;
    } else {
      const dot = qualified.indexOf(".", i);
      const end = dot < 0 ? qualified.length : dot;
      parts.push(qualified.slice(i, end));
      i = end + 1;
    }
  }
  if (parts.length !== 2) throw new MaintenanceError(`unexpected table name ${qualified}`);
  return [parts[0], parts[1]];
}

export interface SourceSnapshot {
  /** The session that holds the snapshot open; also usable for reads in it. */
  client: Client;
  id: string;
  /** The source database's encoding, which every copy session uses as its client encoding. */
  encoding: string;
  /** Next transaction id when the snapshot was taken, to tell whether anyone wrote since. */
  xmax: bigint;
  release(): Promise<void>;
}

async function run(client: Client, statements: string[]): Promise<void> {
  for (const statement of statements) await client.query(statement);
}

export interface CopiedTable {
  name: string;
  bytes: number;
  /**
   * Every column is of a built-in base type or an enum, so the rows travel in COPY's
   * binary format: no text rendering and parsing of numbers, dates and bytea (half the bytes).
   * The target is never an older major version, which could not read it; extension types
   * (whose binary form may change between extension versions) and composites go as text.
   */
  binary: boolean;
}

/**
 * The tables whose rows are copied: ordinary tables and partitions (not partitioned parents,
 * views, materialized views, foreign tables or extension members, which pg_dump handles).
 */
export async function tablesToCopy(client: Client): Promise<CopiedTable[]> {
  const { rows } = await client.query<{ name: string; bytes: string; binary: boolean }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name, pg_table_size(c.oid)::bigint::text AS bytes,
            NOT EXISTS (
              SELECT 1 FROM pg_attribute a
                JOIN pg_type t ON t.oid = a.atttypid
                JOIN pg_type b ON b.oid = coalesce(nullif(t.typbasetype, 0), t.oid)
                LEFT JOIN pg_type e ON e.oid = b.typelem AND b.typcategory = 'A'
               WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                 AND NOT ((coalesce(e.typtype, b.typtype) = 'e'
                           OR (coalesce(e.typtype, b.typtype) = 'b' AND coalesce(e.oid, b.oid) < 16384))
                          AND coalesce(e.typsend, b.typsend) <> 0 AND coalesce(e.typreceive, b.typreceive) <> 0)
            ) AS binary
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
        AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`,
  );
  return rows.map((r) => ({ name: r.name, bytes: Number(r.bytes), binary: r.binary }));
}

export async function sourceEncoding(client: Client): Promise<string> {
  const { rows } = await client.query<{ e: string }>(
    "SELECT pg_encoding_to_char(encoding) AS e FROM pg_database WHERE datname = current_database()",
  );
  return rows[0].e;
}

export async function exportSnapshot(source: PgTarget): Promise<SourceSnapshot> {
  const client = await connect(source, "source");
  try {
    const encoding = await sourceEncoding(client);
    await run(client, [...copySessionSettings(encoding), ...SOURCE_ONLY]);
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const { rows } = await client.query<{ id: string; xmax: string }>(
      "SELECT pg_export_snapshot() AS id, txid_snapshot_xmax(txid_current_snapshot())::text AS xmax",
    );
    return {
      client,
      encoding,
      id: rows[0].id,
      xmax: BigInt(rows[0].xmax),
      release: async () => {
        await client.query("COMMIT").catch(() => undefined);
        await client.end().catch(() => undefined);
      },
    };
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}

/**
 * Transactions that got an id on the source server since the snapshot (0 when nothing wrote).
 * Asked on a new session: one inside the snapshot would see the snapshot's own horizon.
 */
export async function writesSince(source: PgTarget, snapshot: SourceSnapshot): Promise<bigint> {
  const client = await connect(source, "source");
  try {
    const { rows } = await client.query<{ xmax: string }>(
      "SELECT txid_snapshot_xmax(txid_current_snapshot())::text AS xmax",
    );
    return BigInt(rows[0].xmax) - snapshot.xmax;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Sequences are not transactional, so no snapshot holds them still: they are read live at
 * the very end and set on the target, never behind the source. Returns them as
 * `describeSchema` renders them (`last_value/is_called`).
 */
export async function copySequences(
  source: Client,
  target: Client,
  names: string[],
): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  for (const name of names) {
    const { rows } = await source.query<{ last_value: string; is_called: boolean }>(
      `SELECT last_value::text, is_called FROM ${name}`,
    );
    const [{ last_value: last, is_called: called }] = rows;
    await target.query("SELECT setval($1::regclass, $2::bigint, $3)", [name, last, called]);
    values[name] = `${last}/${called ? "called" : "not called"}`;
  }
  return values;
}

/** Source sessions inside the snapshot; they stay in it until closed. */
export async function joinSnapshot(
  source: PgTarget,
  snapshot: SourceSnapshot,
  encoding: string,
  count: number,
): Promise<Client[]> {
  return openSessions(source, "source", count, async (client) => {
    await run(client, [...copySessionSettings(encoding), ...SOURCE_ONLY]);
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    await client.query(`SET TRANSACTION SNAPSHOT '${snapshot.id.replace(/'/g, "''")}'`);
  });
}

/** `count` sessions on `server`, each set up by `prepare`; if one fails, every one opened is closed. */
async function openSessions(
  server: PgTarget,
  role: "source" | "target",
  count: number,
  prepare: (client: Client) => Promise<void>,
): Promise<Client[]> {
  const clients: Client[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const client = await connect(server, role);
      clients.push(client);
      await prepare(client);
    }
    return clients;
  } catch (error) {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    throw error;
  }
}

/**
 * An autovacuum worker that picked a freshly loaded table first holds it until a blocked
 * session's deadlock check cancels it, `deadlock_timeout` (1 s by default) later: seen as a
 * 1.3 s ANALYZE at the end of a 10 s copy. Ours cancels it after 100 ms. A superuser setting:
 * without the right, the session keeps the server's.
 */
export const TARGET_IF_ALLOWED = ["SET deadlock_timeout = '100ms'"];
const INSUFFICIENT_PRIVILEGE = "42501";

export async function openLoaders(target: PgTarget, encoding: string, count: number): Promise<Client[]> {
  return openSessions(target, "target", count, async (client) => {
    await run(client, [...copySessionSettings(encoding), ...TARGET_ONLY]);
    for (const statement of TARGET_IF_ALLOWED) {
      await client.query(statement).catch((error: { code?: string }) => {
        if (error.code !== INSUFFICIENT_PRIVILEGE) throw error;
      });
    }
  });
}

/** One table, source snapshot -> target, in one target transaction; returns the rows copied. */
export async function copyTable(from: Client, to: Client, table: string, binary: boolean): Promise<number> {
  await to.query("BEGIN");
  try {
    // Truncating in the loading transaction is what makes FREEZE legal (and a retry idempotent).
    await to.query(`TRUNCATE ONLY ${table}`);
    const format = binary ? "binary" : "text";
    const out = from.query(copyTo(`COPY ${table} TO STDOUT WITH (FORMAT ${format})`));
    const into = to.query(copyFrom(`COPY ${table} FROM STDIN WITH (FORMAT ${format}, FREEZE)`));
    await pipeline(out, into);
    await to.query("COMMIT");
    return into.rowCount;
  } catch (error) {
    await to.query("ROLLBACK").catch(() => undefined);
    throw new MaintenanceError(`copying table ${table} failed: ${(error as Error).message}`);
  }
}

/**
 * One part of a table (a page range, see copyPlan.ts), appended to the table in its own
 * transaction: parts load side by side, so none can truncate or FREEZE.
 */
export async function copyPart(
  from: Client,
  to: Client,
  part: { table: string; ctidRange?: string },
  columns: string,
  binary: boolean,
): Promise<number> {
  if (part.ctidRange === undefined) return copyTable(from, to, part.table, binary);
  const format = binary ? "binary" : "text";
  try {
    const out = from.query(
      copyTo(
        `COPY (SELECT ${columns} FROM ONLY ${part.table} WHERE ${part.ctidRange}) TO STDOUT WITH (FORMAT ${format})`,
      ),
    );
    const into = to.query(copyFrom(`COPY ${part.table} (${columns}) FROM STDIN WITH (FORMAT ${format})`));
    await pipeline(out, into);
    return into.rowCount;
  } catch (error) {
    throw new MaintenanceError(`copying table ${part.table} failed: ${(error as Error).message}`);
  }
}

/**
 * Copy every table with one worker per (source, target) session pair, largest tables first;
 * `progress` hears each table start and finish.
 */
export async function copyTables(
  sources: Client[],
  targets: Client[],
  tables: CopiedTable[],
  progress: { start(name: string): void; finish(name: string): void },
): Promise<Map<string, number>> {
  const rows = new Map<string, number>();
  await poolMap(copyOrder(tables), Math.min(sources.length, targets.length), async (table, worker) => {
    progress.start(table.name);
    rows.set(table.name, await copyTable(sources[worker], targets[worker], table.name, table.binary));
    progress.finish(table.name);
  });
  return rows;
}
