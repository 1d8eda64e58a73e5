/**
 * Verified copy of one PostgreSQL database to a new, empty instance, with every Tines
 * service down but Postgres. Faster than the seed's `pg_dump -Fc` + `pg_restore`: the
 * schema comes from a data-less pg_dump, the rows stream server to server under one
 * exported snapshot (streamCopy.ts), and indexes and constraints are built by parallel
 * pg_restore workers while both sides are checksummed. Every table, sequence, definition,
 * extension and owner is compared and any difference fails the step. Replacing a non-empty
 * target keeps the older path (`pg_dump -Fd -Z0 -j` to disk, `pg_restore --clean -j`).
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
import { tableProgress, formatBytes, type TableProgress } from "./progress";
import { connect, poolMap } from "./session";
import {
  copyOrder,
  copySequences,
  copyTables,
  exactPattern,
  exportSnapshot,
  joinSnapshot,
  openLoaders,
  sourceEncoding,
  tablesToCopy,
  writesSince,
} from "./streamCopy";

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
  /**
   * Streamed: dump = schema and rows, restore = indexes and constraints, verify = what of
   * the verification did not overlap them. Replacing: the dump and the restore themselves.
   */
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
  let encoding: string;
  try {
    targetClient = await connectOrCreateTarget(target, reporter);
    sourceSchema = await describeSchema(sourceClient);
    encoding = await sourceEncoding(sourceClient);
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
  const context: CopyContext = { source, target, tools, jobs, sizes, dataBytes, options };
  // Replacing existing objects needs pg_restore --clean over every section at once, which the
  // streamed copy (tables created empty, indexes after the data) cannot do: use the dump there.
  const { sourceFull, targetFull, seconds } = options.allowNonEmptyTarget
    ? await dumpAndRestore(context)
    : await streamCopy(context, encoding, checksumMaxBytes);

  reporter.info(
    "db-migrate: verifying the copy (row counts, checksums, sequences, definitions, extensions, owners)",
  );
  const verifyStart = Date.now();
  let comparison: Comparison;
  if (sourceFull && targetFull) {
    comparison = compareDescriptions(sourceFull, targetFull, { compareOwners: !options.noOwner });
  } else {
    comparison = (
      await verifyCopy(source, target, {
        jobs,
        checksumMaxBytes,
        compareOwners: !options.noOwner,
        reporter,
      })
    ).comparison;
  }
  const report = formatComparison(comparison);
  seconds.verify += (Date.now() - verifyStart) / 1000;
  seconds.total = (Date.now() - startedAt) / 1000;
  reporter.info(report);
  if (comparison.mismatches.length > 0) {
    throw new MaintenanceError(
      `verification failed: ${comparison.mismatches.length} mismatches between source and target: ${comparison.mismatches.slice(0, 3).join("; ")}`,
    );
  }
  return { comparison, report, jobs, dataBytes, seconds };
}

interface CopyContext {
  source: PgTarget;
  target: PgTarget;
  tools: ReturnType<typeof findPgTools>;
  jobs: number;
  sizes: Map<string, number>;
  dataBytes: number;
  options: MigrateOptions;
}

interface CopyOutcome {
  /** Both sides, checksums included, when they were described during the copy. */
  sourceFull?: DatabaseDescription;
  targetFull?: DatabaseDescription;
  seconds: MigrationResult["seconds"];
}

function makeWorkDir(root: string, neededBytes: number): string {
  mkdirSync(root, { recursive: true });
  const stats = statfsSync(root);
  const free = stats.bavail * stats.bsize;
  if (free < neededBytes * 1.1) {
    throw new GateError(
      `not enough space in ${root} for the dump: ${formatBytes(free)} free, about ${formatBytes(neededBytes)} needed; set the work directory elsewhere`,
    );
  }
  return mkdtempSync(path.join(root, "tines-db-migrate-"));
}

function restoreArgs(context: CopyContext, dumpDir: string, extra: string[]): string[] {
  const args = [...connectionArgs(context.target), "-Fd", "-v", "--exit-on-error", ...extra];
  if (context.options.noOwner) args.push("--no-owner", "--no-acl");
  if (context.options.allowNonEmptyTarget) args.push("--clean", "--if-exists");
  return [...args, dumpDir];
}

/**
 * The default path: schema from a data-less pg_dump in the snapshot, table rows streamed
 * server to server, then indexes and constraints built by parallel pg_restore workers while
 * the source side of the verification is computed in the same snapshot.
 */
async function streamCopy(
  context: CopyContext,
  encoding: string,
  checksumMaxBytes: number,
): Promise<CopyOutcome> {
  const { source, target, tools, jobs, sizes, dataBytes, options } = context;
  const { reporter } = options;
  const seconds = { dump: 0, restore: 0, verify: 0, total: 0 };
  const credentials = childCredentials([source, target]);
  const secrets = secretsOf([source, target]);
  // Sequences, large objects and extension tables stay in the dump; they are small in Tines.
  const workDir = makeWorkDir(options.workDir ?? os.tmpdir(), 64 * 1024 ** 2);
  const dumpDir = path.join(workDir, "schema");
  const snapshot = await exportSnapshot(source, encoding);
  let readers: Client[] = [];
  let loaders: Client[] = [];
  try {
    let phaseStart = Date.now();
    const tables = await tablesToCopy(snapshot.client);
    reporter.info(
      `db-migrate: copying ${source.display} (${tables.length} tables, ${formatBytes(dataBytes)}) with ${jobs} workers, streamed from snapshot ${snapshot.id}`,
    );
    await runPgTool(
      tools.pgDump,
      [
        ...connectionArgs(source),
        "-Fd",
        "-f",
        dumpDir,
        `--snapshot=${snapshot.id}`,
        ...tables.map((t) => `--exclude-table-data=${exactPattern(t.name)}`),
      ],
      { env: credentials.env(source), secrets, what: "pg_dump of the schema from the source" },
    ).done;
    for (const section of ["pre-data", "data"]) {
      await runPgTool(tools.pgRestore, restoreArgs(context, dumpDir, [`--section=${section}`]), {
        env: credentials.env(target),
        secrets,
        what: `pg_restore of the ${section === "data" ? "sequences and large objects" : "schema"} into the target`,
      }).done;
    }
    [readers, loaders] = await Promise.all([
      joinSnapshot(source, snapshot, encoding, jobs),
      openLoaders(target, encoding, jobs),
    ]);
    const progress = tableProgress("restore", sizes, reporter);
    await copyTables(readers, loaders, tables, {
      start: (name) => reporter.info(`restore: table ${name} started (${formatBytes(sizes.get(name) ?? 0)})`),
      finish: (name) => progress.finish(name),
    });
    await closeAll(loaders);
    loaders = [];
    seconds.dump = (Date.now() - phaseStart) / 1000;

    reporter.info(
      `db-migrate: building indexes and constraints on the target with ${jobs} workers; checksumming both sides meanwhile`,
    );
    phaseStart = Date.now();
    let built = 0;
    const postData = runPgTool(
      tools.pgRestore,
      restoreArgs(context, dumpDir, ["--section=post-data", "-j", String(jobs)]),
      {
        // Index and constraint builds dominate; the server default (64 MB) sorts on disk.
        env: {
          ...credentials.env(target),
          PGOPTIONS: `-c maintenance_work_mem=${RESTORE_MAINTENANCE_WORK_MEM}`,
        },
        secrets,
        what: "pg_restore of indexes and constraints into the target",
        onLine: (line) => {
          const item = /finished item \d+ (.+)$/.exec(line);
          if (item) reporter.info(`indexes: ${item[1].trim()} done (${++built} so far)`);
        },
      },
    ).done.then(() => {
      seconds.restore = (Date.now() - phaseStart) / 1000;
    });
    // The same snapshot, so these are the checksums of exactly what was copied.
    const sourceSide = (async () => {
      await Promise.all(readers.map(prepareSession));
      const schema = await describeSchema(readers[0]);
      return describeContent(readers, schema, checksumMaxBytes, undefined);
    })();
    // Copied tables are final once loaded (post-data adds no rows), so their target side is
    // checksummed now too; only what post-data fills (materialized views) waits for it.
    const targetProgress = tableProgress("verify", sizes, reporter);
    const targetSide = copiedContents(target, tables, jobs, checksumMaxBytes, targetProgress);
    const [indexes, described, early] = await Promise.allSettled([postData, sourceSide, targetSide]);
    if (indexes.status === "rejected") throw indexes.reason;
    if (described.status === "rejected") throw described.reason;
    if (early.status === "rejected") throw early.reason;

    const writes = await writesSince(source, snapshot);
    if (writes > 0n) {
      reporter.warn(
        `db-migrate: ${writes} transactions wrote on the source server after the snapshot; the copy (verified) is the database as of the snapshot, without them (are all Tines services down?)`,
      );
    }
    const sequences = await copyLiveSequences(source, target, Object.keys(described.value.sequences));
    described.value.sequences = sequences;
    const targetFull = await describeTarget(target, jobs, checksumMaxBytes, early.value, targetProgress);
    seconds.verify = Math.max(0, (Date.now() - phaseStart) / 1000 - seconds.restore);
    return { sourceFull: described.value, targetFull, seconds };
  } finally {
    await Promise.all([closeAll(readers), closeAll(loaders)]);
    await snapshot.release();
    credentials.dispose();
    rmSync(workDir, { recursive: true, force: true });
  }
}

type Content = { rows: string; checksum?: string };

/** Row counts and checksums of the given tables on `where`, `jobs` sessions at once. */
async function copiedContents(
  where: PgTarget,
  tables: Array<{ name: string; bytes: number }>,
  jobs: number,
  checksumMaxBytes: number,
  progress: TableProgress,
): Promise<Map<string, Content>> {
  const clients = await openSessions(where, "target", jobs);
  try {
    const done = await poolMap(copyOrder(tables), jobs, async (table, worker) => {
      const content = await tableContent(clients[worker], table, checksumMaxBytes);
      progress.finish(table.name);
      return [table.name, content] as const;
    });
    return new Map(done);
  } finally {
    await closeAll(clients);
  }
}

/** The whole target description, reusing contents already computed. */
async function describeTarget(
  where: PgTarget,
  jobs: number,
  checksumMaxBytes: number,
  known: Map<string, Content>,
  progress: TableProgress,
): Promise<DatabaseDescription> {
  const clients = await openSessions(where, "target", jobs);
  try {
    const schema = await describeSchema(clients[0]);
    const tables = await poolMap(schema.tables, jobs, async (table, worker) => {
      const content = known.get(table.name) ?? (await tableContent(clients[worker], table, checksumMaxBytes));
      progress.finish(table.name);
      return { ...table, ...content };
    });
    return { ...schema, tables };
  } finally {
    await closeAll(clients);
  }
}

async function copyLiveSequences(
  source: PgTarget,
  target: PgTarget,
  names: string[],
): Promise<Record<string, string>> {
  const [from, to] = await Promise.all([connect(source, "source"), connect(target, "target")]);
  try {
    return await copySequences(from, to, names);
  } finally {
    await Promise.all([from.end().catch(() => undefined), to.end().catch(() => undefined)]);
  }
}

/** The fallback: a directory-format dump without compression, restored by parallel workers. */
async function dumpAndRestore(context: CopyContext): Promise<CopyOutcome> {
  const { source, target, tools, jobs, sizes, dataBytes, options } = context;
  const { reporter } = options;
  const workDir = makeWorkDir(options.workDir ?? os.tmpdir(), dataBytes);
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
    await runPgTool(tools.pgRestore, restoreArgs(context, dumpDir, ["-j", String(jobs)]), {
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
  return { seconds };
}
