/**
 * Whether two sessions reach the same PostgreSQL server, decided by the servers, not by how
 * the URLs spell them: `localhost` and `127.0.0.1`, a second address of the host, a DNS
 * alias, an RDS endpoint and its IP all name one server. Restoring "into the target" when it
 * is the source drops the live database, so any sign of sameness refuses:
 *  - `system_identifier` (pg_control_system()), fixed at initdb and kept by every physical
 *    copy: equal on a standby and on a snapshot restore too, which we cannot tell apart
 *    from the source itself without the next sign, so equal refuses;
 *  - our own source session, found on the target server: the source session takes a random
 *    application_name inside an open transaction (so a transaction-mode pooler keeps it on
 *    one server process) and the target's pg_stat_activity is searched for it. Every user
 *    sees the pid and application_name of every session, whatever its privileges;
 *  - the same postmaster start time (microseconds) and the same database OID.
 * pg_control_system() may be closed to ordinary users (some managed services revoke it): then
 * the other two decide. A failing check is not a pass: the caller refuses.
 */
import { randomBytes } from "node:crypto";
import type { Client } from "pg";

interface Facts {
  systemIdentifier?: string;
  startedAt: string;
  database: string;
  databaseOid: string;
  inRecovery: boolean;
}

const INSUFFICIENT_PRIVILEGE = "42501";
const UNDEFINED_FUNCTION = "42883";

async function facts(client: Client): Promise<Facts> {
  const { rows } = await client.query<Omit<Facts, "systemIdentifier">>(
    `SELECT pg_postmaster_start_time()::text AS "startedAt", current_database() AS database,
            (SELECT oid::text FROM pg_database WHERE datname = current_database()) AS "databaseOid",
            pg_is_in_recovery() AS "inRecovery"`,
  );
  let systemIdentifier: string | undefined;
  try {
    const id = await client.query<{ id: string }>(
      "SELECT system_identifier::text AS id FROM pg_control_system()",
    );
    systemIdentifier = id.rows[0]?.id;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== INSUFFICIENT_PRIVILEGE && code !== UNDEFINED_FUNCTION) throw error;
  }
  return { ...rows[0], systemIdentifier };
}

export interface ServerComparison {
  /** Why the two are one server (undefined: different servers). */
  sameServer?: string;
  /** Both sessions are in the same database of that server. */
  sameDatabase: boolean;
  /** The target is a standby (read-only, in recovery). */
  targetInRecovery: boolean;
}

/** Both sessions must be idle (the source may be inside its snapshot transaction). */
export async function compareServers(source: Client, target: Client): Promise<ServerComparison> {
  const [a, b] = await Promise.all([facts(source), facts(target)]);
  const nonce = `tines-maintenance identity ${randomBytes(8).toString("hex")}`;
  const { rows: current } = await source.query<{ name: string }>(
    "SELECT current_setting('application_name') AS name",
  );
  // "I": idle, outside a transaction (the snapshot session is inside one: "T").
  const inTransaction = source.getTransactionStatus() !== "I";
  if (!inTransaction) await source.query("BEGIN");
  let seen = false;
  try {
    await source.query("SELECT set_config('application_name', $1, false)", [nonce]);
    const { rows } = await target.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1",
      [nonce],
    );
    seen = rows[0].n > 0;
  } finally {
    await source.query("SELECT set_config('application_name', $1, false)", [current[0].name]);
    if (!inTransaction) await source.query("COMMIT");
  }
  let sameServer: string | undefined;
  if (seen) sameServer = "the target server shows the source session among its own";
  else if (a.systemIdentifier && a.systemIdentifier === b.systemIdentifier)
    sameServer = `both report PostgreSQL system identifier ${a.systemIdentifier} (the same server, a standby of it or a restore of it)`;
  else if (a.startedAt === b.startedAt && a.databaseOid === b.databaseOid)
    sameServer = `both servers started at ${a.startedAt} and hold the database under OID ${a.databaseOid}`;
  return {
    sameServer,
    sameDatabase: sameServer !== undefined && a.database === b.database,
    targetInRecovery: b.inRecovery,
  };
}
