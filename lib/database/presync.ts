/**
 * Presync: the new instance is filled and kept current by logical replication while Tines
 * runs, so that the shutdown's migration only catches up, checks and switches (cutover.ts).
 *
 * Setting it up, after every check of presyncChecks.ts passed with both servers only read:
 *  1. the target database: created, or (a presync copy of ours that lost its replication)
 *     dropped and created again, and marked as a presync copy (targetMarker.ts);
 *  2. a publication of every table the copy copies, on the source;
 *  3. the slot, with the snapshot it streams from (replicationSlot.ts);
 *  4. the copy of db-migrate (copyStreamed.ts) in that snapshot: schema, rows, indexes, keys,
 *     everything, verified in the snapshot. Nothing is deferred to the cut-over: an index built
 *     there would be downtime that grows with the database;
 *  5. the baseline (each side's snapshot, see verifyChanged.ts), kept as the comment of
 *  6. the subscription on the target, which takes over the slot and applies every change
 *     committed after the snapshot.
 * It returns once the apply worker streams. Any failure or abort removes what it created
 * (presyncObjects.ts), the slot first of all.
 */
import type { Client } from "pg";
import { GateError, MaintenanceError } from "../errors";
import type { ProgressReporter } from "../progress";
import { realClock, type Clock } from "../progress";
import { redactSecrets } from "../redact";
import { abortable, isAborted, runTag, tagged, throwIfAborted } from "./abort";
import { parsePgUrl, withDatabase, type PgTarget } from "./connection";
import { streamedCopy } from "./copyStreamed";
import { compareDescriptions, describeSchema, formatComparison } from "./inspect";
import { defaultJobs } from "./migrate";
import { preflight } from "./preflight";
import {
  checkPresync,
  CLI_PRESYNC_NAMES,
  openTargetIfExists,
  publishedTables,
  type PresyncCheck,
  type PresyncNames,
} from "./presyncChecks";
import { presyncName, removePresync, type Removed } from "./presyncObjects";
import { formatStatus, readPresyncStatus, type PresyncStatus } from "./presyncStatus";
import { createSlotWithSnapshot, subscriptionConninfo } from "./replicationSlot";
import { waitForApplied } from "./catchUp";
import { formatBytes } from "./progress";
import { connect } from "./session";
import { createTargetDatabase, dropCreatedDatabase } from "./targetDatabase";
import { writeTargetMarker } from "./targetMarker";
import { phaseTimer } from "./timing";
import type { Baseline } from "./verifyChanged";

export interface PresyncTargets {
  sourceUrl: string;
  targetUrl: string;
  /** The stack (or, from the CLI, `--stack`) that owns the presync: in the target's marker. */
  stack: string;
  names?: PresyncNames;
}

export interface StartOptions extends PresyncTargets {
  /** Parallel workers of the initial copy; default the core count (at most 8). */
  jobs?: number;
  noOwner?: boolean;
  checksumMaxBytes?: number;
  binDir?: string;
  reporter: ProgressReporter;
  signal?: AbortSignal;
  /** How long the subscription's worker may take to start streaming; default 60 s. */
  streamingTimeoutSeconds?: number;
  /** How long to show the catch-up of the changes made during the copy; default 600 s. */
  catchUpTimeoutSeconds?: number;
  clock?: Clock;
}

export interface StartResult {
  name: string;
  /** It was already set up and streaming: nothing was done. */
  alreadyRunning: boolean;
  /** What the initial copy copied (zeros when already running). */
  tables: number;
  rows: string;
  bytes: number;
  copySeconds: number;
  startedAt: string;
  status: PresyncStatus;
  warnings: string[];
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
const quoteLiteral = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** The subscription's comment: the baseline of the cut-over's verification. */
export const BASELINE_PREFIX = "tines-maintenance presync baseline:";

export function resolveTargets(options: PresyncTargets): {
  source: PgTarget;
  target: PgTarget;
  name: string;
  names: PresyncNames;
} {
  const names = options.names ?? CLI_PRESYNC_NAMES;
  const source = parsePgUrl(options.sourceUrl, names.source);
  const target = parsePgUrl(options.targetUrl, names.target);
  if (source.host === target.host && source.port === target.port && source.database === target.database) {
    throw new GateError(
      `${names.target}: is the same database as ${names.source} (${target.display}); it must be a new instance`,
    );
  }
  return { source, target, name: presyncName(target), names };
}

/** The read-only check of a presync start or cut-over: GateError with one line per problem. */
export async function assertPresyncPossible(
  options: PresyncTargets & { mode: "start" | "cutover"; noOwner?: boolean; reporter: ProgressReporter },
): Promise<PresyncCheck> {
  const { source, target, name, names } = resolveTargets(options);
  const check = await checkPresync(source, target, {
    mode: options.mode,
    stack: options.stack,
    name,
    names,
    noOwner: options.noOwner ?? false,
  });
  for (const warning of check.warnings) options.reporter.warn(`presync: ${warning}`);
  if (check.problems.length > 0) throw new GateError(check.problems.join(" | "));
  return check;
}

export async function startPresync(options: StartOptions): Promise<StartResult> {
  const { reporter } = options;
  const { source: plainSource, target: plainTarget, name, names } = resolveTargets(options);
  const jobs = options.jobs ?? defaultJobs();
  const check = await assertPresyncPossible({ ...options, mode: "start" });
  const startedAt = new Date().toISOString();
  if (check.state.kind === "presync" && check.state.subscription) {
    const status = await statusOf(plainSource, plainTarget, name);
    reporter.info(`presync: already set up (${name}): ${formatStatus(status)}`);
    return {
      name,
      alreadyRunning: true,
      tables: 0,
      rows: "0",
      bytes: 0,
      copySeconds: 0,
      startedAt: check.state.marker.windowStartedAt,
      status,
      warnings: check.warnings,
    };
  }
  const replacing = check.state.kind === "presync";
  const checked = await preflight(plainSource, plainTarget, {
    allowNonEmptyTarget: false,
    noOwner: options.noOwner ?? false,
    binDir: options.binDir,
    reporter,
    names: {
      source: names.source,
      target: names.target,
      allowNonEmpty: "allowNonEmptyTarget",
      noOwner: names === CLI_PRESYNC_NAMES ? "--no-owner" : "database.migration.noOwner",
    },
    targetWillBeReplaced: replacing,
    expectWrites: true,
  });

  // From here on the servers change; every way out of this block removes what it created.
  const tag = runTag("presync");
  const source = tagged(plainSource, tag);
  const target = tagged(plainTarget, tag);
  let createdDatabase = false;
  const timer = phaseTimer();
  try {
    return await abortable(options.signal, [plainSource, plainTarget], tag, "presync", async () => {
      if (replacing) {
        reporter.info(
          `presync: ${plainTarget.database} on the target is a presync copy of this stack without its replication (an interrupted run, or removed): starting it again`,
        );
        await removePresync({ source: plainSource, target: plainTarget, name, reporter });
        await recreateDatabase(plainTarget);
        createdDatabase = true;
      } else if (checked.createTarget) {
        await createTargetDatabase(plainTarget, reporter);
        createdDatabase = true;
      }
      await withSession(target, "target", (client) =>
        writeTargetMarker(client, { stack: options.stack, windowStartedAt: startedAt, purpose: "presync" }),
      );
      throwIfAborted(options.signal, "presync");
      const tables = await withSession(source, "source", async (client) => {
        const published = await publishedTables(client);
        await client.query(
          published.length > 0
            ? `CREATE PUBLICATION ${quoteIdent(name)} FOR TABLE ${published.join(", ")}`
            : `CREATE PUBLICATION ${quoteIdent(name)}`,
        );
        return published;
      });
      reporter.info(`presync: publication ${name} of ${tables.length} tables created on the source`);
      const snapshot = await createSlotWithSnapshot(source, name);
      reporter.info(
        `presync: replication slot ${name} created on the source at ${snapshot.consistentPoint}; copying the database as of that point (Tines keeps writing, the slot keeps the changes)`,
      );
      let copied;
      try {
        const sourceSchema = await describeSchema(snapshot.client);
        const { sourceFull, targetFull } = await streamedCopy({
          source,
          target,
          snapshot,
          sourceSchema,
          targetReady: Promise.resolve(),
          tools: checked.tools,
          jobs,
          noOwner: options.noOwner ?? false,
          checksumMaxBytes: options.checksumMaxBytes ?? 10 * 1024 ** 3,
          targetVersionNum: checked.targetVersionNum,
          reporter,
          timer,
          expectWrites: true,
        });
        const comparison = compareDescriptions(sourceFull, targetFull, { compareOwners: !options.noOwner });
        reporter.info(formatComparison(comparison));
        if (comparison.mismatches.length > 0) {
          throw new MaintenanceError(
            `presync: the initial copy differs from the source's snapshot: ${comparison.mismatches.length} mismatches: ${comparison.mismatches.slice(0, 3).join("; ")}`,
          );
        }
        copied = {
          tables: comparison.tables.length,
          rows: comparison.totalRows.toString(),
          bytes: sourceSchema.tables.reduce((sum, t) => sum + t.bytes, 0),
        };
      } finally {
        await snapshot.release();
      }
      timer.mark("copied");
      throwIfAborted(options.signal, "presync");
      // Off the clock, so that the cut-over's scans of the copy only read: the loading
      // transactions' hint bits and the visibility map, set once for every row now.
      await withSession(target, "target", (client) => client.query("VACUUM"));
      timer.mark("vacuumed");
      reporter.info("presync: the copy is vacuumed (hint bits and visibility map set ahead of the cut-over)");
      await withSession(target, "target", (client) =>
        subscribe(client, {
          name,
          source: plainSource,
          sourceSnapshot: snapshot.txidSnapshot,
          binary: check.sourceMajor === check.targetMajor && check.sourceMajor >= 14,
        }),
      );
      reporter.info(`presync: subscription ${name} on the target applies the source's changes from now on`);
      const clock = options.clock ?? realClock;
      await waitUntilStreaming(plainSource, plainTarget, name, {
        timeoutMs: (options.streamingTimeoutSeconds ?? 60) * 1000,
        signal: options.signal,
        clock,
      });
      // The changes made during the copy: shown shrinking, and not waited for past the bound
      // (the presync is good either way; the cut-over waits for whatever is left).
      const caught = await withSession(source, "source", (sourceClient) =>
        withSession(target, "target", async (targetClient) => {
          const { rows } = await sourceClient.query<{ lsn: string }>(
            "SELECT pg_current_wal_insert_lsn()::text AS lsn",
          );
          return waitForApplied(sourceClient, targetClient, name, rows[0].lsn, {
            step: "presync",
            timeoutMs: (options.catchUpTimeoutSeconds ?? 600) * 1000,
            signal: options.signal,
            clock,
            reporter,
          });
        }),
      );
      if (!caught.caughtUp) {
        reporter.warn(
          `presync: still ${formatBytes(caught.behind)} behind the changes made during the copy after ${Math.round(caught.seconds)} s; it keeps catching up (maint db-presync status shows the lag)`,
        );
      }
      const status = await statusOf(plainSource, plainTarget, name);
      reporter.info(`presync: ${formatStatus(status)}`);
      return {
        name,
        alreadyRunning: false,
        ...copied,
        copySeconds: Math.round(timer.elapsed() * 10) / 10,
        startedAt,
        status,
        warnings: check.warnings,
      };
    });
  } catch (error) {
    await undoStart(plainSource, plainTarget, name, createdDatabase, reporter);
    if (isAborted(error)) {
      throw new MaintenanceError(
        `presync interrupted; removed what it had created (no slot is left on the source)${createdDatabase ? ", and the target database it had created" : ""}`,
      );
    }
    throw error;
  }
}

/** Best effort after a failed or aborted start: the slot must go; the failure is what the operator reads. */
async function undoStart(
  source: PgTarget,
  target: PgTarget,
  name: string,
  dropDatabase: boolean,
  reporter: ProgressReporter,
): Promise<Removed | undefined> {
  let removed: Removed | undefined;
  try {
    removed = await removePresync({ source, target, name, reporter });
  } catch (error) {
    reporter.warn((error as Error).message);
  }
  if (dropDatabase) await dropCreatedDatabase(target, reporter);
  return removed;
}

async function withSession<T>(
  target: PgTarget,
  role: string,
  work: (client: Client) => Promise<T>,
): Promise<T> {
  const client = await connect(target, role);
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Drop the database and create it again with the same owner, encoding and locale (the
 * operator may have created it, e.g. with the instance): a copy restarts from empty.
 */
async function recreateDatabase(target: PgTarget): Promise<void> {
  await withSession(withDatabase(target, "postgres"), "target server", async (admin) => {
    const { rows } = await admin.query<{ owner: string; encoding: string; collate: string; ctype: string }>(
      `SELECT pg_get_userbyid(datdba) AS owner, pg_encoding_to_char(encoding) AS encoding,
              datcollate AS collate, datctype AS ctype FROM pg_database WHERE datname = $1`,
      [target.database],
    );
    const db = quoteIdent(target.database);
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    const like = rows[0]
      ? ` OWNER ${quoteIdent(rows[0].owner)} ENCODING ${quoteLiteral(rows[0].encoding)} LC_COLLATE ${quoteLiteral(rows[0].collate)} LC_CTYPE ${quoteLiteral(rows[0].ctype)} TEMPLATE template0`
      : "";
    await admin.query(`CREATE DATABASE ${db}${like}`);
  });
}

/** Create the subscription on the slot, disabled; record the baseline on it; enable it. */
async function subscribe(
  client: Client,
  options: { name: string; source: PgTarget; sourceSnapshot: string; binary: boolean },
): Promise<void> {
  const { rows } = await client.query<{ snapshot: string }>(
    "SELECT txid_current_snapshot()::text AS snapshot",
  );
  const baseline: Baseline = { source: options.sourceSnapshot, target: rows[0].snapshot };
  const name = quoteIdent(options.name);
  try {
    await client.query(
      `CREATE SUBSCRIPTION ${name} CONNECTION ${quoteLiteral(subscriptionConninfo(options.source))} PUBLICATION ${name}
         WITH (create_slot = false, slot_name = ${quoteLiteral(options.name)}, copy_data = false, enabled = false${options.binary ? ", binary = true" : ""})`,
    );
  } catch (error) {
    throw new MaintenanceError(
      `creating the subscription on the target failed (the target server connects to ${options.source.host}:${options.source.port} itself): ${redactSecrets((error as Error).message, [options.source.password])}`,
    );
  }
  await client.query(
    `COMMENT ON SUBSCRIPTION ${name} IS ${quoteLiteral(BASELINE_PREFIX + JSON.stringify(baseline))}`,
  );
  await client.query(`ALTER SUBSCRIPTION ${name} ENABLE`);
}

/** The baseline recorded on the subscription, if it is there. */
export async function readBaseline(client: Client, name: string): Promise<Baseline | undefined> {
  const { rows } = await client.query<{ comment: string | null }>(
    `SELECT obj_description(s.oid, 'pg_subscription') AS comment FROM pg_subscription s
      WHERE s.subname = $1 AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [name],
  );
  const comment = rows[0]?.comment;
  if (!comment?.startsWith(BASELINE_PREFIX)) return undefined;
  try {
    const value = JSON.parse(comment.slice(BASELINE_PREFIX.length)) as Partial<Baseline>;
    return typeof value.source === "string" && typeof value.target === "string"
      ? { source: value.source, target: value.target }
      : undefined;
  } catch {
    return undefined;
  }
}

async function statusOf(source: PgTarget, target: PgTarget, name: string): Promise<PresyncStatus> {
  const s = await connect(source, "source");
  try {
    const t = await openTargetIfExists(target);
    try {
      return await readPresyncStatus(s, t, name);
    } finally {
      await t?.end().catch(() => undefined);
    }
  } finally {
    await s.end().catch(() => undefined);
  }
}

/** The presync's status (for `pulumi refresh` and `maint db-presync status`); changes nothing. */
export async function presyncStatus(options: PresyncTargets): Promise<PresyncStatus> {
  const { source, target, name } = resolveTargets(options);
  return statusOf(source, target, name);
}

async function waitUntilStreaming(
  source: PgTarget,
  target: PgTarget,
  name: string,
  options: { timeoutMs: number; signal?: AbortSignal; clock: Clock },
): Promise<PresyncStatus> {
  const { clock } = options;
  const deadline = clock.now() + options.timeoutMs;
  for (;;) {
    throwIfAborted(options.signal, "presync");
    const status = await statusOf(source, target, name);
    if (status.state === "streaming") return status;
    if (clock.now() > deadline) {
      throw new MaintenanceError(
        `presync: the subscription's worker did not start streaming within ${Math.round(options.timeoutMs / 1000)} s (${formatStatus(status)}); ` +
          "see the target server's log: can the target server reach the source?",
      );
    }
    await clock.sleep(250, options.signal);
  }
}

/** Remove the presync (presync set back to false, `pulumi destroy`, a failed cut-over, recovery). */
export async function removePresyncObjects(
  options: PresyncTargets & { reporter: ProgressReporter; dropTarget?: boolean },
): Promise<Removed> {
  const { source, target, name } = resolveTargets(options);
  return removePresync({ source, target, name, reporter: options.reporter, dropTarget: options.dropTarget });
}
