/**
 * The presync's slot, created the way pgcopydb's follow mode creates its own: on a
 * replication connection, `CREATE_REPLICATION_SLOT ... EXPORT_SNAPSHOT`, which returns a
 * snapshot of exactly the moment from which the slot streams changes. The initial copy reads
 * the source in that snapshot (pg_dump --snapshot and every copy session import it), so rows
 * are either in the copy or in the stream, never both or neither. The snapshot lives while
 * the replication connection stays open and idle: until the copy is done.
 */
import { Client } from "pg";
import { MaintenanceError } from "../errors";
import { redactSecrets } from "../redact";
import { pgClientConfig, type PgTarget } from "./connection";
import { copySessionSettings, sourceEncoding, type SourceSnapshot } from "./streamCopy";
import { connect } from "./session";

export interface SlotSnapshot extends SourceSnapshot {
  slot: string;
  /** The LSN from which the slot streams. */
  consistentPoint: string;
  /** `txid_current_snapshot()` inside the snapshot: the source's side of the baseline. */
  txidSnapshot: string;
}

/**
 * Create logical slot `name` (pgoutput) and open a session in its exported snapshot. The
 * slot is permanent (a subscription takes it over later): the caller drops it on failure.
 */
export async function createSlotWithSnapshot(source: PgTarget, name: string): Promise<SlotSnapshot> {
  const replication = new Client({ ...pgClientConfig(source), replication: "database" } as never);
  replication.on("error", () => undefined);
  try {
    await replication.connect();
  } catch (error) {
    await replication.end().catch(() => undefined);
    throw new MaintenanceError(
      `cannot open a replication connection to the source ${source.display}: ${redactSecrets((error as Error).message, [source.password])}`,
    );
  }
  let reader: Client | undefined;
  try {
    const { rows } = await replication.query<{
      slot_name: string;
      consistent_point: string;
      snapshot_name: string;
    }>(`CREATE_REPLICATION_SLOT "${name.replace(/"/g, '""')}" LOGICAL pgoutput EXPORT_SNAPSHOT`);
    const { consistent_point: consistentPoint, snapshot_name: id } = rows[0];
    reader = await connect(source, "source");
    const encoding = await sourceEncoding(reader);
    for (const statement of [...copySessionSettings(encoding), "SET row_security = off"])
      await reader.query(statement);
    await reader.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    await reader.query(`SET TRANSACTION SNAPSHOT '${id.replace(/'/g, "''")}'`);
    const { rows: snap } = await reader.query<{ snapshot: string; xmax: string }>(
      "SELECT txid_current_snapshot()::text AS snapshot, txid_snapshot_xmax(txid_current_snapshot())::text AS xmax",
    );
    const client = reader;
    return {
      client,
      id,
      encoding,
      xmax: BigInt(snap[0].xmax),
      slot: name,
      consistentPoint,
      txidSnapshot: snap[0].snapshot,
      release: async () => {
        await client.query("COMMIT").catch(() => undefined);
        await client.end().catch(() => undefined);
        await replication.end().catch(() => undefined);
      },
    };
  } catch (error) {
    await reader?.end().catch(() => undefined);
    await replication.end().catch(() => undefined);
    throw new MaintenanceError(
      `creating the replication slot ${name} on the source failed: ${redactSecrets((error as Error).message, [source.password])}`,
    );
  }
}

/** libpq conninfo for the subscription (the target server connects to the source with it). */
export function subscriptionConninfo(source: PgTarget): string {
  const quote = (value: string) => `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  const parts: Record<string, string | undefined> = {
    host: source.host,
    port: String(source.port),
    user: source.user,
    password: source.password,
    dbname: source.database,
    sslmode: source.sslmode,
    connect_timeout: "10",
  };
  return Object.entries(parts)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([key, value]) => `${key}=${quote(value)}`)
    .join(" ");
}
