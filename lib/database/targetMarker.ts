/**
 * A target database that this project writes into carries a marker: the database's comment,
 * `tines-maintenance:` and a JSON object naming the stack, when its window (or presync)
 * started, and why it was written. A later run recognises its own target by it: a presync
 * copy that the cut-over accepts and a plain migration still refuses, or a half-written
 * copy of an interrupted run. Any other non-empty target is not ours.
 */
import type { Client } from "pg";

export const TARGET_MARKER_PREFIX = "tines-maintenance:";

export interface TargetMarker {
  stack: string;
  /** ISO 8601. */
  windowStartedAt: string;
  purpose: "migration" | "presync";
}

/** Mark the database `client` is connected to. */
export async function writeTargetMarker(client: Client, marker: TargetMarker): Promise<void> {
  const text = TARGET_MARKER_PREFIX + JSON.stringify(marker);
  // COMMENT takes no bind parameters: the literal is quoted here, the name by the server.
  const { rows } = await client.query<{ db: string }>("SELECT quote_ident(current_database()) AS db");
  await client.query(`COMMENT ON DATABASE ${rows[0].db} IS ${quoteLiteral(text)}`);
}

/** The marker of the database `client` is connected to; undefined when it has none (or another comment). */
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
      typeof value.stack === "string" &&
      typeof value.windowStartedAt === "string" &&
      (value.purpose === "migration" || value.purpose === "presync")
    ) {
      return { stack: value.stack, windowStartedAt: value.windowStartedAt, purpose: value.purpose };
    }
  } catch {
    // Not JSON: someone else's comment that happens to start like ours.
  }
  return undefined;
}

/** Remove the marker (once the copy is the live database, nothing may treat it as a disposable copy). */
export async function clearTargetMarker(client: Client): Promise<void> {
  const { rows } = await client.query<{ db: string }>("SELECT quote_ident(current_database()) AS db");
  await client.query(`COMMENT ON DATABASE ${rows[0].db} IS NULL`);
}

function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
