/**
 * Verified copy of one PostgreSQL database to a new, empty instance, with every Tines
 * service down but Postgres. The steps, each in its own module:
 *
 * - preflight.ts: every refusal (same database, versions, roles, extensions, a non-empty
 *   target, local disk), with both servers only read;
 * - targetDatabase.ts: the first write, creating the target database if it is missing
 *   (and dropping it again if the copy into it fails);
 * - copyStreamed.ts (empty target) or copyDump.ts (replacing a non-empty one): the copy;
 * - verify.ts: row counts, content checksums, sequences, definitions, extensions, owners;
 *   any difference fails the step;
 * - timing.ts: where the time went.
 */
import os from "node:os";
import { ConfigError, MaintenanceError } from "../errors";
import type { ProgressReporter } from "../progress";
import { parsePgUrl, type PgTarget } from "./connection";
import { defaultWorkRoot, dumpAndRestore } from "./copyDump";
import { streamedCopy } from "./copyStreamed";
import { compareDescriptions, formatComparison, type Comparison } from "./inspect";
import { runOperation, outsideOperation, throwIfStopped } from "./operation";
import { preflight, sameDatabase, type Preflight } from "./preflight";
import { connect } from "./session";
import { createTargetDatabase, dropCreatedDatabase, recreateTargetDatabase } from "./targetDatabase";
import { describeMarker, writeTargetMarker, type TargetMarker } from "./targetMarker";
import { exportSnapshot, type SourceSnapshot } from "./streamCopy";
import { formatPhases, phaseTimer, type PhaseTimer, type PhaseTimes } from "./timing";
import { verifyCopy } from "./verify";

export { targetContents } from "./preflight";
export { verifyCopy } from "./verify";
export { RESTORE_MAINTENANCE_WORK_MEM } from "./copyDump";

export interface MigrateOptions {
  sourceUrl: string;
  targetUrl: string;
  /** Parallel workers for the copy, index builds and verification; default: the core count (at most 8). */
  jobs?: number;
  /** Restore over existing objects (`--clean --if-exists`) instead of refusing a non-empty target. */
  allowNonEmptyTarget?: boolean;
  /** The target's connecting user owns everything; owners and grants are not copied. */
  noOwner?: boolean;
  /** Tables larger than this get row counts only; default 10 GiB. */
  checksumMaxBytes?: number;
  /** Where the temporary dump is written when replacing a non-empty target; default the OS temp directory. */
  workDir?: string;
  /** Directory of pg_dump/pg_restore; default PATH, then /usr/lib/postgresql/<major>/bin. */
  binDir?: string;
  reporter: ProgressReporter;
  /** Names the flags or config keys in messages (CLI vs stack config). */
  names?: { source: string; target: string; allowNonEmpty: string; noOwner: string };
  /**
   * Stops the copy wherever it is (the engine died, the update was cancelled): its sessions
   * are closed and ended on both servers, pg_dump/pg_restore stopped, its files removed.
   */
  signal?: AbortSignal;
  /**
   * Who runs it: a target this migration starts writing into while it is empty is marked
   * (targetMarker.ts), and a later run of the same stack in the same window restarts it
   * instead of refusing it as not empty. Without it nothing is marked.
   */
  marker?: { stack: string; windowStartedAt: string };
}

export interface MigrationResult {
  comparison: Comparison;
  /** The printed comparison. */
  report: string;
  jobs: number;
  dataBytes: number;
  /**
   * Wall seconds. Streamed: dump = schema and every table's rows, restore = until the last
   * index, key and the post-data section are in, verify = what of the verification came
   * after. Replacing: the dump, the restore and the verification after them.
   */
  seconds: { dump: number; restore: number; verify: number; total: number };
  /** Marks and worker-seconds per kind of work. */
  phases: PhaseTimes;
}

const CLI_NAMES = {
  source: "--from",
  target: "--to",
  allowNonEmpty: "--allow-non-empty-target",
  noOwner: "--no-owner",
};

export function defaultJobs(): number {
  return Math.max(1, Math.min(8, os.availableParallelism?.() ?? os.cpus().length));
}

export async function migrateDatabase(options: MigrateOptions): Promise<MigrationResult> {
  const names = options.names ?? CLI_NAMES;
  const source = parsePgUrl(options.sourceUrl, names.source);
  const target = parsePgUrl(options.targetUrl, names.target);
  if (sameDatabase(source, target)) {
    throw new ConfigError(
      `${names.target}: is the same database as ${names.source} (${target.display}); it must be a new instance`,
    );
  }
  const jobs = options.jobs ?? defaultJobs();
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64)
    throw new ConfigError(`jobs: must be a whole number from 1 to 64, got ${jobs}`);
  const checksumMaxBytes = options.checksumMaxBytes ?? 10 * 1024 ** 3;
  const timer = phaseTimer();

  return runOperation(
    {
      name: "db-migrate",
      servers: [source, target],
      signal: options.signal,
      report: (line) => options.reporter.info(line),
    },
    async () => {
      // The streamed copy reads the source through one snapshot from the first query on; the
      // preflight reads it there too (exporting a snapshot writes nothing).
      let snapshot = options.allowNonEmptyTarget ? undefined : await exportSnapshot(source);
      try {
        const context = { source, target, jobs, checksumMaxBytes, names, timer };
        let checked = await runPreflight(options, context, snapshot);
        if (checked.restartTarget && !snapshot) {
          // This run's own interrupted copy goes the streamed way, from one snapshot.
          snapshot = await exportSnapshot(source);
          checked = await runPreflight(options, context, snapshot);
        }
        return await migrateWith(options, { ...context, snapshot, checked });
      } finally {
        await snapshot?.release();
      }
    },
  );
}

function runPreflight(
  options: MigrateOptions,
  context: { source: PgTarget; target: PgTarget; names: typeof CLI_NAMES },
  snapshot: SourceSnapshot | undefined,
): Promise<Preflight> {
  return preflight(context.source, context.target, {
    allowNonEmptyTarget: options.allowNonEmptyTarget ?? false,
    noOwner: options.noOwner ?? false,
    binDir: options.binDir,
    reporter: options.reporter,
    names: context.names,
    dumpRoot: snapshot ? undefined : (options.workDir ?? defaultWorkRoot()),
    sourceSession: snapshot?.client,
    marker: options.marker,
  });
}

/** Marks the (empty or just created) target as this run's, before the first row goes in. */
async function markTarget(target: PgTarget, marker: TargetMarker, reporter: ProgressReporter): Promise<void> {
  const client = await connect(target, "target");
  try {
    await writeTargetMarker(client, marker);
  } catch (error) {
    reporter.warn(
      `db-migrate: could not mark ${target.display} as this stack's copy (${(error as Error).message}); ` +
        "if this copy is interrupted, a rerun will find the target not empty and refuse it",
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function migrateWith(
  options: MigrateOptions,
  context: {
    source: PgTarget;
    target: PgTarget;
    jobs: number;
    checksumMaxBytes: number;
    snapshot?: SourceSnapshot;
    names: typeof CLI_NAMES;
    timer: PhaseTimer;
    checked: Preflight;
  },
): Promise<MigrationResult> {
  const { source, target, jobs, checksumMaxBytes, snapshot, timer, checked } = context;
  const { reporter } = options;
  const replacing = snapshot === undefined;
  const noOwner = options.noOwner ?? false;
  const workRoot = options.workDir ?? defaultWorkRoot();
  const sizes = new Map(checked.sourceSchema.tables.map((t) => [t.name, t.bytes]));
  const dataBytes = [...sizes.values()].reduce((a, b) => a + b, 0);
  timer.mark("preflight");

  const marker: TargetMarker | undefined =
    options.marker && !replacing
      ? {
          ...options.marker,
          purpose: "migration",
          state: "copying",
          markedAt: new Date().toISOString(),
        }
      : undefined;
  if (checked.restartTarget) {
    reporter.info(
      `db-migrate: ${target.display} holds this stack's interrupted copy (${describeMarker(checked.restartTarget)}): ` +
        "dropping and re-creating it, then copying again from the start by the streaming path",
    );
  }
  // The streamed copy starts its source-side work while the target database is created.
  const creating = (async () => {
    if (checked.restartTarget) await recreateTargetDatabase(target, reporter);
    else if (checked.createTarget) await createTargetDatabase(target, reporter);
    else return;
    timer.mark("target created");
  })().then(() => (marker ? markTarget(target, marker, reporter) : undefined));
  creating.catch(() => undefined);
  let comparison: Comparison;
  try {
    if (replacing) {
      await creating;
      await dumpAndRestore({
        source,
        target,
        tools: checked.tools,
        jobs,
        noOwner,
        sizes,
        workRoot,
        reporter,
        timer,
      });
      throwIfStopped("db-migrate");
      await analyzeAll(target);
      timer.mark("analyze");
      reporter.info(
        "db-migrate: verifying the copy (row counts, checksums, sequences, definitions, extensions, owners)",
      );
      comparison = (
        await verifyCopy(source, target, { jobs, checksumMaxBytes, compareOwners: !noOwner, reporter })
      ).comparison;
      timer.mark("verified");
    } else {
      const { sourceFull, targetFull } = await streamedCopy({
        source,
        target,
        snapshot,
        sourceSchema: checked.sourceSchema,
        targetReady: creating,
        tools: checked.tools,
        jobs,
        noOwner,
        checksumMaxBytes,
        targetVersionNum: checked.targetVersionNum,
        reporter,
        timer,
      });
      comparison = compareDescriptions(sourceFull, targetFull, { compareOwners: !noOwner });
    }
  } catch (error) {
    // Created (or not) by now: the copy waits for it before anything else on the target.
    const created = await creating.then(
      () => true,
      () => false,
    );
    // Also after an abort, when this operation may open no session any more.
    // A re-created target keeps its mark instead: the next rerun restarts it with its settings.
    if (checked.createTarget && created) await outsideOperation(() => dropCreatedDatabase(target, reporter));
    throw error;
  }
  if (marker && comparison.mismatches.length === 0)
    await markTarget(target, { ...marker, state: "verified" }, reporter);

  const phases = timer.result();
  const report = formatComparison(comparison);
  reporter.info(report);
  reporter.info(`db-migrate: ${formatPhases(phases)}`);
  if (comparison.mismatches.length > 0) {
    throw new MaintenanceError(
      `verification failed: ${comparison.mismatches.length} mismatches between source and target: ${comparison.mismatches.slice(0, 3).join("; ")}`,
    );
  }
  const total = timer.elapsed();
  const m = phases.marks;
  const copied = (replacing ? m.dump : m.rows) ?? 0;
  const built = (replacing ? m.analyze : m["post-data"]) ?? copied;
  const seconds = {
    dump: round(copied),
    restore: round(built - copied),
    verify: round(total - built),
    total: round(total),
  };
  return { comparison, report, jobs, dataBytes, seconds, phases };
}

function round(seconds: number): number {
  return Math.round(seconds * 100) / 100;
}

/** Planner statistics before Tines starts on the new instance (pg_restore collects none). */
async function analyzeAll(target: PgTarget): Promise<void> {
  const client = await connect(target, "target");
  try {
    await client.query("ANALYZE");
  } finally {
    await client.end().catch(() => undefined);
  }
}
