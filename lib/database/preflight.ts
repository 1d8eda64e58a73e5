/**
 * Every check that can refuse a migration, run before anything is written anywhere: both
 * servers are only read (a missing target database is looked at through the server's
 * `postgres` database, and created only after all of this passed, in targetDatabase.ts).
 */
import { existsSync, statfsSync } from "node:fs";
import path from "node:path";
import type { Client } from "pg";
import { GateError } from "../errors";
import type { ProgressReporter } from "../progress";
import { withDatabase, type PgTarget } from "./connection";
import { compareServers } from "./identity";
import { describeSchema, type DatabaseDescription } from "./inspect";
import { checkVersions, findPgTools, serverMajor, type PgTools } from "./pgTools";
import { formatBytes } from "./progress";
import { connect } from "./session";
import { describeMarker, readTargetMarker, type TargetMarker } from "./targetMarker";

export interface PreflightOptions {
  allowNonEmptyTarget: boolean;
  noOwner: boolean;
  binDir?: string;
  reporter: ProgressReporter;
  names: { source: string; target: string; allowNonEmpty: string; noOwner: string };
  /** Where the dump path writes its dump: refused here if the source's tables do not fit. */
  dumpRoot?: string;
  /** A session on the source to read it through (the copy's snapshot); else one is opened. */
  sourceSession?: Client;
  /**
   * Who this run is (targetMarker.ts): a target marked by the same stack in the same window,
   * with a migration it did not finish, is this run's own interrupted copy and is restarted.
   */
  marker?: { stack: string; windowStartedAt: string };
  /** The target is a presync copy of ours that the caller drops and creates again: its contents do not count. */
  targetWillBeReplaced?: boolean;
  /** Tines keeps writing to the source (a presync): other sessions on it are expected. */
  expectWrites?: boolean;
}

export interface Preflight {
  sourceSchema: DatabaseDescription;
  tools: PgTools;
  /** The target database has to be created (it did not exist). */
  createTarget: boolean;
  targetVersionNum: number;
  /** The target holds this stack's interrupted copy (its mark): drop, re-create and copy again. */
  restartTarget?: TargetMarker;
}

/** Whether `marker` says the target holds an unfinished migration of this very run's window. */
export function isOwnInterruptedCopy(
  marker: TargetMarker | undefined,
  own: { stack: string; windowStartedAt: string } | undefined,
): boolean {
  return (
    marker !== undefined &&
    own !== undefined &&
    marker.purpose === "migration" &&
    marker.state !== "verified" &&
    marker.stack === own.stack &&
    marker.windowStartedAt === own.windowStartedAt
  );
}

/** What in the target makes it non-empty: a few names, for the refusal. */
export function targetContents(description: DatabaseDescription): string[] {
  const found: string[] = [];
  found.push(...description.schemas.filter((s) => s !== "public").map((s) => `schema ${s}`));
  found.push(
    ...Object.keys(description.extensions)
      .filter((e) => e !== "plpgsql")
      .map((e) => `extension ${e}`),
  );
  found.push(...description.tables.map((t) => `table ${t.name}`));
  found.push(...Object.keys(description.sequences).map((s) => `sequence ${s}`));
  found.push(...Object.keys(description.definitions).filter((d) => !d.startsWith("columns ")));
  return found;
}

/** The same spelling: no server needs asking. Other spellings of one server: compareServers. */
export function sameDatabase(a: PgTarget, b: PgTarget): boolean {
  return a.host === b.host && a.port === b.port && a.database === b.database;
}

/** The nearest existing directory at or above `dir` (statfs needs one; nothing is created). */
function existingAncestor(dir: string): string {
  let current = path.resolve(dir);
  while (!existsSync(current) && path.dirname(current) !== current) current = path.dirname(current);
  return current;
}

export function checkDiskSpace(root: string, neededBytes: number): void {
  const stats = statfsSync(existingAncestor(root));
  const free = stats.bavail * stats.bsize;
  if (free < neededBytes * 1.1) {
    throw new GateError(
      `not enough space in ${root} for the dump: ${formatBytes(free)} free, about ${formatBytes(neededBytes)} needed; set the work directory elsewhere`,
    );
  }
}

/** The target database's session, or the server's when the database does not exist yet. */
async function openTarget(target: PgTarget): Promise<{ client: Client; exists: boolean }> {
  try {
    return { client: await connect(target, "target"), exists: true };
  } catch (error) {
    if ((error as { code?: string }).code !== "3D000") throw error;
  }
  try {
    return { client: await connect(withDatabase(target, "postgres"), "target server"), exists: false };
  } catch (error) {
    if ((error as { code?: string }).code !== "3D000") throw error;
    return { client: await connect(withDatabase(target, "template1"), "target server"), exists: false };
  }
}

async function names(client: Client, sql: string): Promise<Set<string>> {
  return new Set((await client.query<{ name: string }>(sql)).rows.map((r) => r.name));
}

export async function preflight(
  source: PgTarget,
  target: PgTarget,
  options: PreflightOptions,
): Promise<Preflight> {
  const { names: flags } = options;
  const sourceClient = options.sourceSession ?? (await connect(source, "source"));
  let targetClient: Client | undefined;
  try {
    const [openedTarget, describedSource] = await Promise.allSettled([
      openTarget(target),
      describeSchema(sourceClient),
    ]);
    if (openedTarget.status === "fulfilled") targetClient = openedTarget.value.client;
    if (openedTarget.status === "rejected") throw openedTarget.reason;
    if (describedSource.status === "rejected") throw describedSource.reason;
    const opened = openedTarget.value;
    const sourceSchema = describedSource.value;
    // Before anything else about the target: whatever allowNonEmptyTarget says.
    let identity;
    try {
      identity = await compareServers(sourceClient, opened.client);
    } catch (error) {
      throw new GateError(
        `cannot tell whether ${flags.target} (${target.display}) is the server of ${flags.source} (${source.display}): ` +
          `${(error as Error).message}; refusing rather than risk restoring over the live database`,
      );
    }
    if (identity.sameServer && opened.exists && identity.sameDatabase) {
      throw new GateError(
        `${flags.target} (${target.display}) is the same database as ${flags.source} (${source.display}): ${identity.sameServer}; ` +
          `refusing whatever ${flags.allowNonEmpty} says, since a restore into it would drop the live database; point it at the new instance`,
      );
    }
    if (identity.targetInRecovery) {
      throw new GateError(
        `${flags.target} (${target.display}) is a standby in recovery (read-only); point it at a primary of the new instance`,
      );
    }
    const targetSchema = opened.exists ? await describeSchema(opened.client) : undefined;
    const marker = opened.exists ? await readTargetMarker(opened.client) : undefined;
    const restartTarget = isOwnInterruptedCopy(marker, options.marker) ? marker : undefined;
    const targetVersionNum =
      targetSchema?.serverVersionNum ??
      Number(
        (await opened.client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v"))
          .rows[0].v,
      );
    const sourceMajor = serverMajor(sourceSchema.serverVersionNum);
    const targetMajor = serverMajor(targetVersionNum);
    const tools = findPgTools(Math.max(sourceMajor, targetMajor), options.binDir);
    const versionProblem = checkVersions(tools.major, sourceMajor, targetMajor);
    if (versionProblem) throw new GateError(versionProblem);

    if (targetSchema && !options.targetWillBeReplaced) {
      const contents = targetContents(targetSchema);
      if (marker?.purpose === "presync") {
        throw new GateError(
          `target ${target.display} is a presync copy (stack ${marker.stack}) that logical replication from the source keeps current; ` +
            `a plain migration does not write over it, ${flags.allowNonEmpty} or not: set database.migration.presync true to cut over to it, ` +
            "or remove it first (`maint db-presync remove --drop-target`)",
        );
      }
      if (contents.length > 0 && !options.allowNonEmptyTarget && !restartTarget) {
        const whose = marker
          ? `; it holds a copy marked by ${describeMarker(marker)}, not this run's interrupted one` +
            (marker.purpose === "migration" && marker.state !== "verified"
              ? " (a copy is restarted only by the same stack in the same window: check that nothing uses it, then drop it)"
              : "")
          : "";
        throw new GateError(
          `target ${target.display} is not empty (${contents.length} objects, e.g. ${contents.slice(0, 3).join(", ")})${whose}; ` +
            `refusing and leaving it untouched; pass ${flags.allowNonEmpty} to replace the objects it shares with the source`,
        );
      }
    } else {
      const { rows } = await opened.client.query<{ may: boolean }>(
        "SELECT rolcreatedb OR rolsuper AS may FROM pg_roles WHERE rolname = current_user",
      );
      if (!rows[0]?.may) {
        throw new GateError(
          `target database ${target.database} does not exist and ${target.user} may not create databases; create it first`,
        );
      }
    }
    if (!options.noOwner) {
      const existing = await names(opened.client, "SELECT rolname AS name FROM pg_roles");
      const missing = sourceSchema.roles.filter((r) => !existing.has(r));
      if (missing.length > 0) {
        throw new GateError(
          `roles that own or hold grants on the source's objects are missing on the target: ${missing.join(", ")}; ` +
            `create them on the new instance first, or pass ${flags.noOwner} to let ${target.user} own everything`,
        );
      }
    }
    const available = await names(opened.client, "SELECT name FROM pg_available_extensions");
    const unavailable = Object.keys(sourceSchema.extensions).filter((e) => !available.has(e));
    if (unavailable.length > 0) {
      throw new GateError(
        `extensions used by the source are not available on the target: ${unavailable.join(", ")}`,
      );
    }
    if (options.dumpRoot) {
      checkDiskSpace(
        options.dumpRoot,
        sourceSchema.tables.reduce((sum, t) => sum + t.bytes, 0),
      );
    }
    const others = await sourceClient.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
    );
    if (Number(others.rows[0].n) > 0 && !options.expectWrites) {
      options.reporter.warn(
        `db-migrate: ${others.rows[0].n} other sessions are connected to the source; writes after the snapshot are not copied (are all Tines services down?)`,
      );
    }
    return { sourceSchema, tools, createTarget: !opened.exists, targetVersionNum, restartTarget };
  } finally {
    if (!options.sourceSession) await sourceClient.end().catch(() => undefined);
    await targetClient?.end().catch(() => undefined);
  }
}
