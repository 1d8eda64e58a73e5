/**
 * The cut-over to a presynced copy, in the shutdown, once the app tier, Sidekiq and the
 * command runner are at 0 (nothing writes to the source any more):
 *  1. wait until the target has applied and flushed everything up to the source's WAL
 *     position of now (the slot's confirmed_flush_lsn reaches it), showing the lag shrink;
 *  2. remove the subscription, the slot and the publication (presyncObjects.ts);
 *  3. set every sequence, which logical replication does not carry;
 *  4. verify: the changed rows against the baseline (verifyChanged.ts), or everything
 *     (verify.ts) when the baseline is gone; definitions, sequences, extensions and owners
 *     either way. A difference fails the step: the old database stays the live one;
 *  5. take the presync marker off the target: it is about to become the live database, and
 *     nothing may treat it as a disposable copy again.
 * What the read-only check refuses (not a presync copy of ours) changes nothing. Any failure
 * after it, an abort or a difference included, removes the replication: no slot is left on
 * the source whatever happens (a SIGKILL leaves it to the recovery: this again, or `remove`).
 */
import type { Client } from "pg";
import { GateError, MaintenanceError } from "../errors";
import { realClock, type Clock, type ProgressReporter } from "../progress";
import { abortable, isAborted, runTag, tagged, throwIfAborted } from "./abort";
import { waitForApplied } from "./catchUp";
import type { Comparison } from "./inspect";
import { defaultJobs } from "./migrate";
import { checkPresync, summarize } from "./presyncChecks";
import { readBaseline, resolveTargets, type PresyncTargets } from "./presync";
import { removePresync } from "./presyncObjects";
import { formatBytes } from "./progress";
import { connect } from "./session";
import { copySequences } from "./streamCopy";
import { clearTargetMarker } from "./targetMarker";
import { phaseTimer } from "./timing";
import { verifyCopy } from "./verify";
import { verifyChangedRows } from "./verifyChanged";

export interface CutoverOptions extends PresyncTargets {
  jobs?: number;
  noOwner?: boolean;
  checksumMaxBytes?: number;
  /** The longest the catch-up may take; default 600 s. */
  catchUpTimeoutSeconds?: number;
  /** `changed` (default): the changed rows against the baseline; `full`: every row, as db-migrate. */
  verify?: "changed" | "full";
  reporter: ProgressReporter;
  signal?: AbortSignal;
  clock?: Clock;
}

export interface CutoverResult {
  name: string;
  comparison: Comparison;
  report: string;
  verification: "changed rows" | "full";
  /** Tables the changed-rows check found different and checksummed again in full. */
  recheckedInFull: string[];
  /** How far behind the copy was when the cut-over started. */
  lagBytesAtStart: number;
  /** Wall seconds of each step and in all. */
  seconds: { catchUp: number; teardown: number; sequences: number; verify: number; total: number };
}

const round = (seconds: number) => Math.round(seconds * 100) / 100;

export async function cutOver(options: CutoverOptions): Promise<CutoverResult> {
  const { reporter } = options;
  const clock = options.clock ?? realClock;
  const { source: plainSource, target: plainTarget, name, names } = resolveTargets(options);
  const noOwner = options.noOwner ?? false;
  const check = await checkPresync(plainSource, plainTarget, {
    mode: "cutover",
    stack: options.stack,
    name,
    names,
    noOwner,
  });
  const ours = check.state.kind === "presync" && check.state.marker.stack === options.stack;
  if (!ours) throw new GateError(check.problems.join(" | "));
  const replicating = check.state.kind === "presync" && check.state.subscription !== undefined;
  for (const warning of check.warnings) reporter.warn(`cut-over: ${warning}`);

  const tag = runTag("cut-over");
  const source = tagged(plainSource, tag);
  const target = tagged(plainTarget, tag);
  const timer = phaseTimer();
  try {
    if (check.problems.length > 0) {
      throw new GateError(
        `cut-over refused: ${check.problems.join(" | ")}; the presync was removed (no slot is left on the source), the copy on the target is kept, and the old database stays the live one`,
      );
    }
    return await abortable(options.signal, [plainSource, plainTarget], tag, "cut-over", async () => {
      const sourceClient = await connect(source, "source");
      const targetClient = await connect(target, "target").catch(async (error: unknown) => {
        await sourceClient.end().catch(() => undefined);
        throw error;
      });
      try {
        let lagBytesAtStart = 0;
        let baseline;
        if (replicating) {
          const { rows } = await sourceClient.query<{ lsn: string; behind: string | null }>(
            `SELECT pg_current_wal_insert_lsn()::text AS lsn,
                    (SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), confirmed_flush_lsn)::bigint::text FROM pg_replication_slots WHERE slot_name = $1) AS behind`,
            [name],
          );
          lagBytesAtStart = Math.max(0, Number(rows[0].behind ?? 0));
          const timeoutMs = (options.catchUpTimeoutSeconds ?? 600) * 1000;
          const caught = await waitForApplied(sourceClient, targetClient, name, rows[0].lsn, {
            step: "cut-over",
            timeoutMs,
            signal: options.signal,
            clock,
            reporter,
          });
          if (!caught.caughtUp) {
            throw new MaintenanceError(
              `cut-over: the copy did not catch up within ${Math.round(timeoutMs / 1000)} s (${formatBytes(caught.behind)} behind); is something still writing to the source? (database.migration.catchUpTimeoutSeconds)`,
            );
          }
          timer.mark("caught up");
          baseline = await readBaseline(targetClient, name);
        } else {
          reporter.warn(
            "cut-over: the replication was already removed (an interrupted cut-over, or a removal): the copy is verified in full",
          );
        }
        throwIfAborted(options.signal, "cut-over");
        await removePresync({ source: plainSource, target: plainTarget, name, reporter });
        timer.mark("replication removed");

        const sequences = await sequenceNames(sourceClient);
        await copySequences(sourceClient, targetClient, sequences);
        reporter.info(`cut-over: ${sequences.length} sequences set on the target from the source`);
        timer.mark("sequences");
        throwIfAborted(options.signal, "cut-over");

        const jobs = options.jobs ?? defaultJobs();
        const checksumMaxBytes = options.checksumMaxBytes ?? 10 * 1024 ** 3;
        const changedRows = baseline !== undefined && options.verify !== "full";
        reporter.info(
          changedRows
            ? "cut-over: verifying the copy: row counts, key checksums, the changed rows' content against the verified initial copy, sequences, definitions, extensions, owners"
            : "cut-over: verifying the copy in full: row counts, content checksums, sequences, definitions, extensions, owners",
        );
        const verified = changedRows
          ? await verifyChangedRows(source, target, {
              baseline: baseline!,
              jobs,
              checksumMaxBytes,
              compareOwners: !noOwner,
              reporter,
            })
          : {
              ...(await verifyCopy(source, target, {
                jobs,
                checksumMaxBytes,
                compareOwners: !noOwner,
                reporter,
              })),
              recheckedInFull: [],
            };
        timer.mark("verified");
        reporter.info(verified.report);
        const { comparison } = verified;
        if (comparison.mismatches.length > 0) {
          throw new GateError(
            `cut-over: verification failed: ${comparison.mismatches.length} mismatches between source and target: ${summarize(comparison.mismatches, 3, "; ")}; ` +
              "the replication was removed, the copy on the target is kept, and the old database stays the live one",
          );
        }
        await clearTargetMarker(targetClient);
        const marks = timer.result().marks;
        const caught = marks["caught up"] ?? 0;
        const removed = marks["replication removed"] ?? caught;
        const sequenced = marks.sequences ?? removed;
        const total = timer.elapsed();
        return {
          name,
          comparison,
          report: verified.report,
          verification: changedRows ? "changed rows" : "full",
          recheckedInFull: verified.recheckedInFull,
          lagBytesAtStart,
          seconds: {
            catchUp: round(caught),
            teardown: round(removed - caught),
            sequences: round(sequenced - removed),
            verify: round((marks.verified ?? total) - sequenced),
            total: round(total),
          },
        };
      } finally {
        await Promise.all([
          sourceClient.end().catch(() => undefined),
          targetClient.end().catch(() => undefined),
        ]);
      }
    });
  } catch (error) {
    try {
      await removePresync({ source: plainSource, target: plainTarget, name, reporter });
    } catch (cleanup) {
      reporter.warn((cleanup as Error).message);
    }
    if (isAborted(error)) {
      throw new MaintenanceError(
        "cut-over interrupted; the replication was removed (no slot is left on the source), the copy on the target is kept, and the old database stays the live one",
      );
    }
    throw error;
  }
}

async function sequenceNames(client: Client): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 1`,
  );
  return rows.map((r) => r.name);
}
