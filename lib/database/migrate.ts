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
import { preflight, sameDatabase } from "./preflight";
import { connect } from "./session";
import { createTargetDatabase, dropCreatedDatabase } from "./targetDatabase";
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

  // The streamed copy reads the source through one snapshot from the first query on; the
  // preflight reads it there too (exporting a snapshot writes nothing).
  const snapshot = options.allowNonEmptyTarget ? undefined : await exportSnapshot(source);
  try {
    return await migrateWith(options, { source, target, jobs, checksumMaxBytes, snapshot, names, timer });
  } finally {
    await snapshot?.release();
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
  },
): Promise<MigrationResult> {
  const { source, target, jobs, checksumMaxBytes, snapshot, names, timer } = context;
  const { reporter } = options;
  const replacing = options.allowNonEmptyTarget ?? false;
  const noOwner = options.noOwner ?? false;
  const workRoot = options.workDir ?? defaultWorkRoot();
  const checked = await preflight(source, target, {
    allowNonEmptyTarget: replacing,
    noOwner,
    binDir: options.binDir,
    reporter,
    names,
    dumpRoot: replacing ? workRoot : undefined,
    sourceSession: snapshot?.client,
  });
  const sizes = new Map(checked.sourceSchema.tables.map((t) => [t.name, t.bytes]));
  const dataBytes = [...sizes.values()].reduce((a, b) => a + b, 0);
  timer.mark("preflight");

  // The streamed copy starts its source-side work while the target database is created.
  const creating = checked.createTarget
    ? createTargetDatabase(target, reporter).then(() => timer.mark("target created"))
    : Promise.resolve();
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
        snapshot: snapshot!,
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
    if (checked.createTarget && created) await dropCreatedDatabase(target, reporter);
    throw error;
  }

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
