/**
 * Verified copy of one PostgreSQL database to a new, empty instance, with every Tines
 * service down but Postgres. Faster than the seed's `pg_dump -Fc` + `pg_restore`: a
 * directory-format dump without compression, written and restored by parallel workers
 * (`pg_dump -Fd -j`, `pg_restore -j`); then every table, sequence, definition, extension
 * and owner is compared on both sides and any difference fails the step.
 */
import { mkdtempSync, rmSync, statfsSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Client } from "pg";
import { ConfigError, GateError, MaintenanceError } from "../errors";
import type { ProgressReporter } from "../progress";
import {
  childCredentials,
  connectionArgs,
  parsePgUrl,
  secretsOf,
  withDatabase,
  type PgTarget,
} from "./connection";
import {
  compareDescriptions,
  describeSchema,
  formatComparison,
  prepareSession,
  tableContent,
  type Comparison,
  type DatabaseDescription,
} from "./inspect";
import { checkVersions, findPgTools, runPgTool, serverMajor } from "./pgTools";
import { tableProgress, formatBytes } from "./progress";
import { connect, poolMap } from "./session";

export interface MigrateOptions {
  sourceUrl: string;
  targetUrl: string;
  /** Parallel workers for dump, restore and verification; default: the core count (at most 8). */
  jobs?: number;
  /** Restore over existing objects (`--clean --if-exists`) instead of refusing a non-empty target. */
  allowNonEmptyTarget?: boolean;
  /** The target's connecting user owns everything; owners and grants are not copied. */
  noOwner?: boolean;
  /** Tables larger than this get row counts only; default 10 GiB. */
  checksumMaxBytes?: number;
  /** Where the temporary dump is written; default the OS temp directory. */
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
  seconds: { dump: number; restore: number; verify: number; total: number };
}

/** Per restore session, so `jobs` times this at most; small enough for a modest managed instance. */
export const RESTORE_MAINTENANCE_WORK_MEM = "256MB";

const CLI_NAMES = {
  source: "--from",
  target: "--to",
  allowNonEmpty: "--allow-non-empty-target",
  noOwner: "--no-owner",
};

export function defaultJobs(): number {
  return Math.max(1, Math.min(8, os.availableParallelism?.() ?? os.cpus().length));
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

function sameDatabase(a: PgTarget, b: PgTarget): boolean {
  return a.host === b.host && a.port === b.port && a.database === b.database;
}

async function connectOrCreateTarget(target: PgTarget, reporter: ProgressReporter): Promise<Client> {
  try {
    return await connect(target, "target");
  } catch (error) {
    if ((error as { code?: string }).code !== "3D000") throw error;
  }
  const admin = await connect(withDatabase(target, "postgres"), "target server");
  try {
    reporter.info(`db-migrate: creating database ${target.database} on the target (it did not exist)`);
    await admin.query(`CREATE DATABASE "${target.database.replace(/"/g, '""')}"`);
  } catch (error) {
    throw new MaintenanceError(
      `target database ${target.database} does not exist and could not be created: ${(error as Error).message}; create it first`,
    );
  } finally {
    await admin.end();
  }
  return connect(target, "target");
}

/** Row counts and checksums of every table, `jobs` tables at a time. */
async function describeContent(
  clients: Client[],
  description: Omit<DatabaseDescription, "tables"> & { tables: DatabaseDescription["tables"] },
  checksumMaxBytes: number,
  progress: ReturnType<typeof tableProgress> | undefined,
): Promise<DatabaseDescription> {
  const tables = await poolMap(description.tables, clients.length, async (table, worker) => {
    const content = await tableContent(clients[worker], table, checksumMaxBytes);
    progress?.finish(table.name);
    return { ...table, ...content };
  });
  return { ...description, tables };
}

async function openSessions(target: PgTarget, role: string, count: number): Promise<Client[]> {
  const clients = await Promise.all(Array.from({ length: count }, () => connect(target, role)));
  await Promise.all(clients.map(prepareSession));
  return clients;
}

async function closeAll(clients: Client[]): Promise<void> {
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
}

/** Compare two live databases table by table (both sides at once). */
export async function verifyCopy(
  source: PgTarget,
  target: PgTarget,
  options: { jobs: number; checksumMaxBytes: number; compareOwners: boolean; reporter: ProgressReporter },
): Promise<{ comparison: Comparison; report: string }> {
  const perSide = Math.max(1, Math.ceil(options.jobs / 2));
  const [sourceClients, targetClients] = await Promise.all([
    openSessions(source, "source", perSide),
    openSessions(target, "target", perSide),
  ]);
  try {
    const [sourceSchema, targetSchema] = await Promise.all([
      describeSchema(sourceClients[0]),
      describeSchema(targetClients[0]),
    ]);
    const sizes = new Map(sourceSchema.tables.map((t) => [t.name, t.bytes]));
    const progress = tableProgress("verify", sizes, options.reporter);
    const [sourceFull, targetFull] = await Promise.all([
      describeContent(sourceClients, sourceSchema, options.checksumMaxBytes, undefined),
      describeContent(targetClients, targetSchema, options.checksumMaxBytes, progress),
    ]);
    const comparison = compareDescriptions(sourceFull, targetFull, { compareOwners: options.compareOwners });
    return { comparison, report: formatComparison(comparison) };
  } finally {
    await Promise.all([closeAll(sourceClients), closeAll(targetClients)]);
  }
}

export async function migrateDatabase(options: MigrateOptions): Promise<MigrationResult> {
  const names = options.names ?? CLI_NAMES;
  const { reporter } = options;
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
  const startedAt = Date.now();

  // Pre-flight: every check that can refuse runs before anything is written to the target.
  const sourceClient = await connect(source, "source");
  let targetClient: Client | undefined;
  let sourceSchema: Awaited<ReturnType<typeof describeSchema>>;
  let tools: ReturnType<typeof findPgTools>;
  try {
    targetClient = await connectOrCreateTarget(target, reporter);
    sourceSchema = await describeSchema(sourceClient);
    const targetSchema = await describeSchema(targetClient);
    const sourceMajor = serverMajor(sourceSchema.serverVersionNum);
    const targetMajor = serverMajor(targetSchema.serverVersionNum);
    tools = findPgTools(Math.max(sourceMajor, targetMajor), options.binDir);
    const versionProblem = checkVersions(tools.major, sourceMajor, targetMajor);
    if (versionProblem) throw new GateError(versionProblem);

    const contents = targetContents(targetSchema);
    if (contents.length > 0 && !options.allowNonEmptyTarget) {
      throw new GateError(
        `target ${target.display} is not empty (${contents.length} objects, e.g. ${contents.slice(0, 3).join(", ")}); ` +
          `refusing and leaving it untouched; pass ${names.allowNonEmpty} to replace the objects it shares with the source`,
      );
    }
    if (!options.noOwner) {
      const existing = new Set(
        (await targetClient.query<{ rolname: string }>("SELECT rolname FROM pg_roles")).rows.map(
          (r) => r.rolname,
        ),
      );
      const missing = sourceSchema.roles.filter((r) => !existing.has(r));
      if (missing.length > 0) {
        throw new GateError(
          `roles that own or hold grants on the source's objects are missing on the target: ${missing.join(", ")}; ` +
            `create them on the new instance first, or pass ${names.noOwner} to let ${target.user} own everything`,
        );
      }
    }
    const available = new Set(
      (await targetClient.query<{ name: string }>("SELECT name FROM pg_available_extensions")).rows.map(
        (r) => r.name,
      ),
    );
    const unavailable = Object.keys(sourceSchema.extensions).filter((e) => !available.has(e));
    if (unavailable.length > 0) {
      throw new GateError(
        `extensions used by the source are not available on the target: ${unavailable.join(", ")}`,
      );
    }
    const others = await sourceClient.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
    );
    if (Number(others.rows[0].n) > 0) {
      reporter.warn(
        `db-migrate: ${others.rows[0].n} other sessions are connected to the source; writes after the dump starts are not copied (are all Tines services down?)`,
      );
    }
  } finally {
    await sourceClient.end().catch(() => undefined);
    await targetClient?.end().catch(() => undefined);
  }

  const sizes = new Map(sourceSchema.tables.map((t) => [t.name, t.bytes]));
  const dataBytes = [...sizes.values()].reduce((a, b) => a + b, 0);
  const workRoot = options.workDir ?? os.tmpdir();
  mkdirSync(workRoot, { recursive: true });
  const free = (() => {
    const stats = statfsSync(workRoot);
    return stats.bavail * stats.bsize;
  })();
  if (free < dataBytes * 1.1) {
    throw new GateError(
      `not enough space in ${workRoot} for the dump: ${formatBytes(free)} free, about ${formatBytes(dataBytes)} needed; set the work directory elsewhere`,
    );
  }
  const workDir = mkdtempSync(path.join(workRoot, "tines-db-migrate-"));
  const dumpDir = path.join(workDir, "dump");
  const credentials = childCredentials([source, target]);
  const secrets = secretsOf([source, target]);
  const seconds = { dump: 0, restore: 0, verify: 0, total: 0 };
  try {
    reporter.info(
      `db-migrate: dumping ${source.display} (${sizes.size} tables, ${formatBytes(dataBytes)}) with ${jobs} workers`,
    );
    let phaseStart = Date.now();
    const dumpProgress = tableProgress("dump", sizes, reporter);
    // No compression: the dump is read back at once from local disk, and gzip is what makes the seed's -Fc slow.
    await runPgTool(
      tools.pgDump,
      [...connectionArgs(source), "-Fd", "-Z", "0", "-j", String(jobs), "-v", "-f", dumpDir],
      {
        env: credentials.env(source),
        secrets,
        what: "pg_dump from the source",
        onLine: (line) => dumpProgress.line(line),
      },
    ).done;
    dumpProgress.close();
    seconds.dump = (Date.now() - phaseStart) / 1000;

    reporter.info(`db-migrate: restoring into ${target.display} with ${jobs} workers`);
    phaseStart = Date.now();
    const restoreProgress = tableProgress("restore", sizes, reporter);
    const restoreArgs = [...connectionArgs(target), "-Fd", "-j", String(jobs), "-v", "--exit-on-error"];
    if (options.noOwner) restoreArgs.push("--no-owner", "--no-acl");
    if (options.allowNonEmptyTarget) restoreArgs.push("--clean", "--if-exists");
    await runPgTool(tools.pgRestore, [...restoreArgs, dumpDir], {
      // Index and constraint builds dominate the restore; the server default (64 MB) sorts on disk.
      env: {
        ...credentials.env(target),
        PGOPTIONS: `-c maintenance_work_mem=${RESTORE_MAINTENANCE_WORK_MEM}`,
      },
      secrets,
      what: "pg_restore into the target",
      onLine: (line) => restoreProgress.line(line),
    }).done;
    restoreProgress.close();
    seconds.restore = (Date.now() - phaseStart) / 1000;
  } finally {
    credentials.dispose();
    rmSync(workDir, { recursive: true, force: true });
  }

  reporter.info(
    "db-migrate: verifying the copy (row counts, checksums, sequences, definitions, extensions, owners)",
  );
  const verifyStart = Date.now();
  const { comparison, report } = await verifyCopy(source, target, {
    jobs,
    checksumMaxBytes,
    compareOwners: !options.noOwner,
    reporter,
  });
  seconds.verify = (Date.now() - verifyStart) / 1000;
  seconds.total = (Date.now() - startedAt) / 1000;
  reporter.info(report);
  if (comparison.mismatches.length > 0) {
    throw new MaintenanceError(
      `verification failed: ${comparison.mismatches.length} mismatches between source and target: ${comparison.mismatches.slice(0, 3).join("; ")}`,
    );
  }
  return { comparison, report, jobs, dataBytes, seconds };
}
