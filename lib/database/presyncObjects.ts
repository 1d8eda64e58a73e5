/**
 * The replication objects a presync creates, all under one name `tines_presync_<hash of the
 * target>`: a publication and a logical replication slot on the source, a subscription on
 * the target. Finding them (the startup refuses, and `maint` reports, one left after a
 * window) and removing them on every way out, whatever state a killed run left them in. An
 * abandoned slot keeps WAL on the source until its disk fills, so removal tries every part
 * even when one fails, and names what is left.
 */
import { createHash } from "node:crypto";
import type { Client } from "pg";
import { MaintenanceError } from "../errors";
import type { ProgressReporter } from "../progress";
import { withDatabase, type PgTarget } from "./connection";
import { connectedServerMajor } from "./pgTools";
import { formatBytes } from "./progress";
import { connect } from "./session";
import { readTargetMarker } from "./targetMarker";

export const PRESYNC_PREFIX = "tines_presync_";

/** Same for every run against the same target URL (host, port, database), whoever runs it. */
export function presyncName(target: Pick<PgTarget, "host" | "port" | "database">): string {
  const hash = createHash("sha256").update(`${target.host}:${target.port}/${target.database}`).digest("hex");
  return `${PRESYNC_PREFIX}${hash.slice(0, 16)}`;
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

export interface PresyncSlot {
  name: string;
  /** The source database the slot decodes. */
  database: string;
  active: boolean;
  activePid?: number;
  /** WAL the slot keeps on the source (from its restart_lsn). */
  retainedBytes: number;
  /** WAL not yet confirmed by the subscriber. */
  lagBytes: number;
  /** `reserved`, `extended`, `unreserved` or `lost` (PostgreSQL 13+). */
  walStatus?: string;
}

/**
 * Slots of ours that decode the source's database (or, with `allDatabases`, any database of
 * its server) and publications of ours in its database.
 */
export async function sourceObjects(
  client: Client,
  name?: string,
  allDatabases = false,
): Promise<{ slots: PresyncSlot[]; publications: string[] }> {
  const pattern = name ?? `${PRESYNC_PREFIX}%`;
  const major = await connectedServerMajor(client);
  const { rows } = await client.query<{
    name: string;
    database: string;
    active: boolean;
    active_pid: number | null;
    retained: string | null;
    lag: string | null;
    wal_status: string | null;
  }>(
    `SELECT slot_name AS name, database, active, active_pid,
            pg_wal_lsn_diff(pg_current_wal_insert_lsn(), restart_lsn)::bigint::text AS retained,
            pg_wal_lsn_diff(pg_current_wal_insert_lsn(), confirmed_flush_lsn)::bigint::text AS lag,
            ${major >= 13 ? "wal_status" : "NULL::text"} AS wal_status
       FROM pg_replication_slots WHERE slot_name LIKE $1 AND ($2 OR database = current_database()) ORDER BY 1`,
    [pattern, allDatabases],
  );
  const publications = (
    await client.query<{ name: string }>("SELECT pubname AS name FROM pg_publication WHERE pubname LIKE $1", [
      pattern,
    ])
  ).rows.map((r) => r.name);
  return {
    slots: rows.map((r) => ({
      name: r.name,
      database: r.database,
      active: r.active,
      activePid: r.active_pid ?? undefined,
      retainedBytes: Number(r.retained ?? 0),
      lagBytes: Math.max(0, Number(r.lag ?? 0)),
      walStatus: r.wal_status ?? undefined,
    })),
    publications,
  };
}

/** Subscriptions of ours in the target's database. */
export async function targetSubscriptions(client: Client, name?: string): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT subname AS name FROM pg_subscription
      WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND subname LIKE $1`,
    [name ?? `${PRESYNC_PREFIX}%`],
  );
  return rows.map((r) => r.name);
}

/**
 * What of ours is on the source: for `maint` after a window, and for the startup, which
 * refuses while a slot is left. One line per object, for the operator.
 */
export async function presyncLeftovers(
  source: PgTarget,
  options: { name?: string; allDatabases?: boolean } = {},
): Promise<{ slots: PresyncSlot[]; publications: string[]; lines: string[] }> {
  const client = await connect(source, "source");
  try {
    const found = await sourceObjects(client, options.name, options.allDatabases);
    const lines = [
      ...found.slots.map(
        (s) =>
          `replication slot ${s.name} (database ${s.database}, ${s.active ? "in use" : "not in use"}, keeps ${formatBytes(s.retainedBytes)} of WAL${s.walStatus ? `, ${s.walStatus}` : ""})`,
      ),
      ...found.publications.map((p) => `publication ${p} (database ${source.database})`),
    ];
    return { ...found, lines };
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface RemoveOptions {
  source: PgTarget;
  /** Where the subscription is; without it only the source's objects go. */
  target?: PgTarget;
  /** One presync's objects; without it, every object of ours on the source (and target). */
  name?: string;
  reporter: ProgressReporter;
  /** Also drop the target database, if (and only if) its marker says it is a presync copy. */
  dropTarget?: boolean;
  /** How long to wait for a slot's WAL sender to let go, in ms (default 10 s). */
  slotReleaseMs?: number;
}

export interface Removed {
  subscriptions: string[];
  slots: string[];
  publications: string[];
  targetDropped: boolean;
}

/**
 * Drop, in this order, the subscription (disabled and detached from its slot first, so that
 * dropping it needs no connection to the source), the slot (ending its WAL sender if one
 * still holds it) and the publication. Idempotent; every part is tried, and a MaintenanceError
 * names whatever could not be removed.
 */
export async function removePresync(options: RemoveOptions): Promise<Removed> {
  const { reporter } = options;
  const removed: Removed = { subscriptions: [], slots: [], publications: [], targetDropped: false };
  const failures: string[] = [];
  if (options.target) {
    try {
      removed.subscriptions = await dropSubscriptions(options.target, options.name);
    } catch (error) {
      failures.push(`the subscription on the target ${options.target.display}: ${(error as Error).message}`);
    }
  }
  try {
    const client = await connect(options.source, "source");
    try {
      const found = await sourceObjects(client, options.name);
      for (const slot of found.slots) {
        try {
          await dropSlot(client, slot.name, options.slotReleaseMs ?? 10_000);
          removed.slots.push(slot.name);
        } catch (error) {
          failures.push(`replication slot ${slot.name} on the source: ${(error as Error).message}`);
        }
      }
      for (const publication of found.publications) {
        await client.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(publication)}`);
        removed.publications.push(publication);
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  } catch (error) {
    failures.push(`the source ${options.source.display}: ${(error as Error).message}`);
  }
  if (options.dropTarget && options.target && failures.length === 0) {
    try {
      removed.targetDropped = await dropPresyncTarget(options.target, reporter);
    } catch (error) {
      failures.push(`the target database: ${(error as Error).message}`);
    }
  }
  const what = [
    ...removed.subscriptions.map((s) => `subscription ${s}`),
    ...removed.slots.map((s) => `slot ${s}`),
    ...removed.publications.map((p) => `publication ${p}`),
    ...(removed.targetDropped ? [`database ${options.target!.database} on the target`] : []),
  ];
  reporter.info(
    what.length > 0
      ? `presync: removed ${what.join(", ")}`
      : "presync: no replication object of ours was left",
  );
  if (failures.length > 0) {
    throw new MaintenanceError(
      `presync: could not remove ${failures.join("; ")}; a slot left on the source keeps WAL until it is dropped: run \`maint db-presync remove\` again once the server answers`,
    );
  }
  return removed;
}

async function dropSubscriptions(target: PgTarget, name?: string): Promise<string[]> {
  let client: Client;
  try {
    client = await connect(target, "target");
  } catch (error) {
    // No target database: no subscription of ours either.
    if ((error as { code?: string }).code === "3D000") return [];
    throw error;
  }
  try {
    const names = await targetSubscriptions(client, name);
    for (const subscription of names) {
      const quoted = quoteIdent(subscription);
      await client.query(`ALTER SUBSCRIPTION ${quoted} DISABLE`);
      await client.query(`ALTER SUBSCRIPTION ${quoted} SET (slot_name = NONE)`);
      await client.query(`DROP SUBSCRIPTION ${quoted}`);
    }
    return names;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Drop one slot. A disabled subscription's WAL sender exits on its own within a moment;
 * one that does not (a subscriber on a host we cannot reach) is ended.
 */
export async function dropSlot(client: Client, name: string, releaseMs: number): Promise<void> {
  const deadline = Date.now() + releaseMs;
  for (;;) {
    const { rows } = await client.query<{ active_pid: number | null }>(
      "SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1",
      [name],
    );
    if (rows.length === 0) return;
    const pid = rows[0].active_pid;
    if (pid !== null) await client.query("SELECT pg_terminate_backend($1)", [pid]);
    try {
      await client.query("SELECT pg_drop_replication_slot($1)", [name]);
      return;
    } catch (error) {
      const code = (error as { code?: string }).code;
      // 42704: gone meanwhile; 55006: still active (the sender is exiting).
      if (code === "42704") return;
      if (code !== "55006" || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Drop the target database if its marker says it is a presync copy; true when dropped. */
export async function dropPresyncTarget(target: PgTarget, reporter: ProgressReporter): Promise<boolean> {
  let client: Client;
  try {
    client = await connect(target, "target");
  } catch (error) {
    if ((error as { code?: string }).code === "3D000") return false;
    throw error;
  }
  let marker;
  try {
    marker = await readTargetMarker(client);
  } finally {
    await client.end().catch(() => undefined);
  }
  if (marker?.purpose !== "presync") {
    reporter.warn(
      `presync: kept database ${target.database} on the target: it does not carry the presync marker (it may be live)`,
    );
    return false;
  }
  const admin = await connect(withDatabase(target, "postgres"), "target server");
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(target.database)} WITH (FORCE)`);
  } finally {
    await admin.end().catch(() => undefined);
  }
  return true;
}
