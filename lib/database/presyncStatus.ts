/**
 * How far behind the presynced copy is, read from both servers without changing anything:
 * for the stack outputs (`pulumi refresh`), `maint db-presync status` and the progress of the
 * cut-over's catch-up. Bytes: the source's WAL the subscriber has not yet confirmed applied
 * and flushed (`pg_current_wal_insert_lsn() - confirmed_flush_lsn` of the slot). Seconds: how long
 * ago the source wrote the WAL the subscriber last confirmed, as PostgreSQL's own lag tracker
 * measures it for the slot's WAL sender (`pg_stat_replication.flush_lag`, 0 once caught up).
 */
import type { Client } from "pg";
import { formatSeconds } from "../progress";
import { formatBytes } from "./progress";
import { connectedServerMajor } from "./pgTools";
import { readTargetMarker } from "./targetMarker";

export interface PresyncStatus {
  name: string;
  /**
   * `streaming`: the apply worker runs and the slot is in use; `stopped`: the subscription is
   * there but its worker is not running (disabled, or failing: see `applyErrors`); `missing`:
   * the slot or the subscription is gone while the target is still a presync copy; `done`:
   * nothing of the presync is left and the target is no longer marked as a copy (cut over).
   */
  state: "streaming" | "stopped" | "missing" | "done";
  slotExists: boolean;
  subscriptionExists: boolean;
  lagBytes: number;
  /** null while nothing streams (the lag is then not being measured). */
  lagSeconds: number | null;
  /** WAL the slot keeps on the source. */
  retainedBytes: number;
  /** The source's WAL position now, and what the subscriber confirmed. */
  sourceLsn: string;
  confirmedLsn?: string;
  /** Tables in the subscription, and those ready (state `r`). */
  tables: number;
  readyTables: number;
  /** Apply errors since the subscription was created (PostgreSQL 15+; 0 before). */
  applyErrors: number;
  walStatus?: string;
}

export async function readSourceLag(
  source: Client,
  name: string,
): Promise<
  Pick<
    PresyncStatus,
    "slotExists" | "lagBytes" | "lagSeconds" | "retainedBytes" | "sourceLsn" | "confirmedLsn" | "walStatus"
  > & { active: boolean }
> {
  const major = await connectedServerMajor(source);
  const { rows } = await source.query<{
    active: boolean;
    lag: string | null;
    retained: string | null;
    flush_lag: string | null;
    confirmed: string | null;
    wal_status: string | null;
  }>(
    `SELECT s.active, pg_wal_lsn_diff(pg_current_wal_insert_lsn(), s.confirmed_flush_lsn)::bigint::text AS lag,
            pg_wal_lsn_diff(pg_current_wal_insert_lsn(), s.restart_lsn)::bigint::text AS retained,
            extract(epoch FROM r.flush_lag)::text AS flush_lag, s.confirmed_flush_lsn::text AS confirmed,
            ${major >= 13 ? "s.wal_status" : "NULL::text"} AS wal_status
       FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
      WHERE s.slot_name = $1`,
    [name],
  );
  const { rows: lsn } = await source.query<{ lsn: string }>(
    "SELECT pg_current_wal_insert_lsn()::text AS lsn",
  );
  const slot = rows[0];
  if (!slot) {
    return {
      slotExists: false,
      active: false,
      lagBytes: 0,
      lagSeconds: null,
      retainedBytes: 0,
      sourceLsn: lsn[0].lsn,
    };
  }
  const lagBytes = Math.max(0, Number(slot.lag ?? 0));
  return {
    slotExists: true,
    active: slot.active,
    lagBytes,
    lagSeconds: slot.active ? (slot.flush_lag === null ? 0 : Number(slot.flush_lag)) : null,
    retainedBytes: Number(slot.retained ?? 0),
    sourceLsn: lsn[0].lsn,
    confirmedLsn: slot.confirmed ?? undefined,
    walStatus: slot.wal_status ?? undefined,
  };
}

export async function readSubscription(
  target: Client,
  name: string,
): Promise<
  Pick<PresyncStatus, "subscriptionExists" | "tables" | "readyTables" | "applyErrors"> & {
    workerRunning: boolean;
    enabled: boolean;
  }
> {
  const major = await connectedServerMajor(target);
  const { rows } = await target.query<{
    enabled: boolean;
    pid: number | null;
    tables: string;
    ready: string;
    errors: string;
  }>(
    `SELECT s.subenabled AS enabled,
            (SELECT st.pid FROM pg_stat_subscription st WHERE st.subid = s.oid AND st.relid IS NULL LIMIT 1) AS pid,
            (SELECT count(*) FROM pg_subscription_rel r WHERE r.srsubid = s.oid)::text AS tables,
            (SELECT count(*) FROM pg_subscription_rel r WHERE r.srsubid = s.oid AND r.srsubstate = 'r')::text AS ready,
            ${major >= 15 ? "coalesce((SELECT ss.apply_error_count FROM pg_stat_subscription_stats ss WHERE ss.subid = s.oid), 0)" : "0"}::text AS errors
       FROM pg_subscription s
      WHERE s.subname = $1 AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [name],
  );
  const sub = rows[0];
  if (!sub) return NO_SUBSCRIPTION;
  return {
    subscriptionExists: true,
    workerRunning: sub.pid !== null,
    enabled: sub.enabled,
    tables: Number(sub.tables),
    readyTables: Number(sub.ready),
    applyErrors: Number(sub.errors),
  };
}

const NO_SUBSCRIPTION = {
  subscriptionExists: false,
  workerRunning: false,
  enabled: false,
  tables: 0,
  readyTables: 0,
  applyErrors: 0,
};

/** Both sides' view, as one status; `target` undefined: the target database does not exist. */
export async function readPresyncStatus(
  source: Client,
  target: Client | undefined,
  name: string,
): Promise<PresyncStatus> {
  const [lag, subscription, marker] = await Promise.all([
    readSourceLag(source, name),
    target ? readSubscription(target, name) : NO_SUBSCRIPTION,
    target ? readTargetMarker(target) : undefined,
  ]);
  const state =
    !lag.slotExists && !subscription.subscriptionExists && marker?.purpose !== "presync"
      ? "done"
      : !lag.slotExists || !subscription.subscriptionExists
        ? "missing"
        : subscription.workerRunning && lag.active
          ? "streaming"
          : "stopped";
  return {
    name,
    state,
    slotExists: lag.slotExists,
    subscriptionExists: subscription.subscriptionExists,
    lagBytes: lag.lagBytes,
    lagSeconds: state === "streaming" ? lag.lagSeconds : null,
    retainedBytes: lag.retainedBytes,
    sourceLsn: lag.sourceLsn,
    confirmedLsn: lag.confirmedLsn,
    tables: subscription.tables,
    readyTables: subscription.readyTables,
    applyErrors: subscription.applyErrors,
    walStatus: lag.walStatus,
  };
}

/** `streaming, 1.2 MiB behind (0.4 s), 12 of 12 tables ready, slot keeps 40.0 MiB of WAL`. */
export function formatStatus(status: PresyncStatus): string {
  if (status.state === "done")
    return "done: nothing of the presync is left, and the target is no longer a presync copy";
  if (status.state === "missing") {
    return `missing: ${[status.slotExists ? "" : "no replication slot on the source", status.subscriptionExists ? "" : "no subscription on the target"].filter(Boolean).join(", ")}`;
  }
  const seconds = status.lagSeconds === null ? "" : ` (${formatLagSeconds(status.lagSeconds)})`;
  const errors =
    status.applyErrors > 0 ? `, ${status.applyErrors} apply errors (see the target server's log)` : "";
  return (
    `${status.state}, ${formatBytes(status.lagBytes)} behind${seconds}, ${status.readyTables} of ${status.tables} tables ready, ` +
    `slot keeps ${formatBytes(status.retainedBytes)} of WAL${status.walStatus && status.walStatus !== "reserved" ? ` (${status.walStatus})` : ""}${errors}`
  );
}

export function formatLagSeconds(seconds: number): string {
  return seconds < 10 ? `${seconds.toFixed(1)} s` : formatSeconds(seconds);
}
