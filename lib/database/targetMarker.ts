/**
 * The mark a stack leaves on a target database it writes into: the database's comment,
 * `tines-maintenance:` followed by JSON. A rerun after an interrupted copy recognises its own
 * half-written target by it and starts that copy again, instead of refusing it as "not empty"
 * (lib/database/migrate.ts); any other non-empty target is still refused. The logical
 * replication pre-sync uses the same mark (`purpose: "presync"`).
 *
 * A comment on the database is kept with the database (`\l+` shows it), is not copied from the
 * source (pg_dump writes a database's comment only with --create, which the copy never uses),
 * and needs no table in the target. Writing it needs ownership of the database, as the
 * restart's DROP DATABASE does.
 */
import type { Client } from "pg";

export const TARGET_MARKER_PREFIX = "tines-maintenance:";

export interface TargetMarker {
  /** The Pulumi stack (or `maint db-migrate`) that writes into the target. */
  stack: string;
  /** The window (windowStartedAt of the window record) in which it started writing. */
  windowStartedAt: string;
  purpose: "migration" | "presync";
  /** `copying` until the copy is verified, then `verified`. */
  state?: "copying" | "verified";
  /** When this mark was written, ISO time. */
  markedAt?: string;
  [extra: string]: unknown;
}

/** Marks the database `client` is connected to. */
export async function writeTargetMarker(client: Client, marker: TargetMarker): Promise<void> {
  const { rows } = await client.query<{ name: string }>("SELECT current_database() AS name");
  const text = TARGET_MARKER_PREFIX + JSON.stringify(marker);
  await client.query(
    `COMMENT ON DATABASE ${client.escapeIdentifier(rows[0].name)} IS ${client.escapeLiteral(text)}`,
  );
}

/** The mark of the database `client` is connected to; undefined when it carries none (or another comment). */
export async function readTargetMarker(client: Client): Promise<TargetMarker | undefined> {
  const { rows } = await client.query<{ comment: string | null }>(
    "SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = current_database()",
  );
  return parseTargetMarker(rows[0]?.comment ?? null);
}

export function parseTargetMarker(comment: string | null): TargetMarker | undefined {
  if (!comment?.startsWith(TARGET_MARKER_PREFIX)) return undefined;
  try {
    const value = JSON.parse(comment.slice(TARGET_MARKER_PREFIX.length)) as Partial<TargetMarker>;
    if (
      typeof value.stack !== "string" ||
      typeof value.windowStartedAt !== "string" ||
      (value.purpose !== "migration" && value.purpose !== "presync")
    )
      return undefined;
    return value as TargetMarker;
  } catch {
    return undefined;
  }
}

/** One line for a message: `stack prod, window 2026-12-07T13:00:00.000Z (migration, copying)`. */
export function describeMarker(marker: TargetMarker): string {
  return `stack ${marker.stack}, window ${marker.windowStartedAt} (${marker.purpose}${marker.state ? `, ${marker.state}` : ""})`;
}

/** Removes the mark (once the copy is the live database, nothing may treat it as a disposable copy). */
export async function clearTargetMarker(client: Client): Promise<void> {
  const { rows } = await client.query<{ name: string }>("SELECT current_database() AS name");
  await client.query(`COMMENT ON DATABASE ${client.escapeIdentifier(rows[0].name)} IS NULL`);
}
