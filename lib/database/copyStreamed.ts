/**
 * The default copy into an empty target, pgcopydb's shape with the verification woven in:
 * one exported snapshot on the source; the schema archive (pg_dump -Fc of everything but
 * the copied tables' rows) kept in memory, never on disk; then one scheduler (scheduler.ts)
 * keeps `jobs` workers busy with table parts streamed source to target, each index and key
 * built as soon as its table's rows are in (longest chain first), foreign keys once both
 * tables are indexed, ANALYZE of each finished table, and both sides' checksums in the gaps.
 * pg_restore then adds the rest of the post-data section.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Client } from "pg";
import { removeOnExit } from "./cleanup";
import type { ProgressReporter } from "../progress";
import { connectionArgs, childEnv, secretsOf, type PgTarget } from "./connection";
import { readCopyPlan, remainingPostData, type CopyPlan } from "./copyPlan";
import { describeSchema, type DatabaseDescription } from "./inspect";
import { pgToolOutput, runPgTool, serverMajor, type PgTools } from "./pgTools";
import { formatBytes, tableProgress, type TableProgress } from "./progress";
import { runTasks, type Task } from "./scheduler";
import { connect } from "./session";
import {
  copyPart,
  copySequences,
  exactPattern,
  joinSnapshot,
  openLoaders,
  tablesToCopy,
  writesSince,
  type CopiedTable,
  type SourceSnapshot,
} from "./streamCopy";
import type { PhaseTimer } from "./timing";
import { checksumRules, closeAll, describeContent, tableContent, type Content } from "./verify";

export interface StreamedCopyOptions {
  source: PgTarget;
  target: PgTarget;
  /** Exported by the caller, who also releases it; preflight read the source through it. */
  snapshot: SourceSnapshot;
  /** The source as described in the snapshot. */
  sourceSchema: DatabaseDescription;
  /** Settles when the target database exists; nothing touches the target before. */
  targetReady: Promise<void>;
  tools: PgTools;
  jobs: number;
  noOwner: boolean;
  checksumMaxBytes: number;
  targetVersionNum: number;
  reporter: ProgressReporter;
  timer: PhaseTimer;
  /** Tines keeps writing (a presync, whose replication carries the writes): no warning about them. */
  expectWrites?: boolean;
}

export interface StreamedCopyResult {
  sourceFull: DatabaseDescription;
  targetFull: DatabaseDescription;
}

function ownerFlags(noOwner: boolean): string[] {
  return noOwner ? ["--no-owner", "--no-acl"] : [];
}

/**
 * Relative cost per byte, for the scheduler's critical path only (measured roughly on the
 * bench data): a copy moves the whole table, TOAST included; an index build reads the heap
 * and writes the index (a GIN index is big because it was costly); a checksum reads all.
 */
const COST = { copy: 1, indexHeap: 0.4, indexSize: 2, foreignKey: 0.2, checksum: 0.25, analyze: 0.02 };

export async function streamedCopy(options: StreamedCopyOptions): Promise<StreamedCopyResult> {
  const { source, target, tools, jobs, snapshot, sourceSchema, reporter, timer } = options;
  const { encoding } = snapshot;
  const secrets = secretsOf([source, target]);
  let readers: Client[] = [];
  let loaders: Client[] = [];
  try {
    const tables = await tablesToCopy(snapshot.client);
    // The schema archive and the sessions take a while to come: started first.
    const archiving = pgToolOutput(
      tools.pgDump,
      [
        ...connectionArgs(source),
        "-Fc",
        `--snapshot=${snapshot.id}`,
        ...tables.map((t) => `--exclude-table-data=${exactPattern(t.name)}`),
      ],
      { env: childEnv(source), secrets, what: "pg_dump of the schema from the source" },
    );
    const opening = Promise.allSettled([
      joinSnapshot(source, snapshot, encoding, jobs),
      options.targetReady.then(() => openLoaders(target, encoding, jobs)),
    ]).then(async ([r, l]) => {
      if (r.status === "fulfilled" && l.status === "fulfilled") return [r.value, l.value] as const;
      await closeAll([
        ...(r.status === "fulfilled" ? r.value : []),
        ...(l.status === "fulfilled" ? l.value : []),
      ]);
      throw r.status === "rejected" ? r.reason : (l as PromiseRejectedResult).reason;
    });
    // Settled here so that a failure of one is not an unhandled rejection while the other is awaited.
    const started = Promise.allSettled([archiving, opening]);
    const rules = await checksumRules(
      snapshot.client,
      sourceSchema,
      options.targetVersionNum,
      options.checksumMaxBytes,
    );
    const plan = await readCopyPlan(snapshot.client, tables, {
      jobs,
      serverMajor: serverMajor(sourceSchema.serverVersionNum),
    });
    const dataBytes = tables.reduce((sum, t) => sum + t.bytes, 0);
    reporter.info(
      `db-migrate: copying ${source.display} (${tables.length} tables in ${plan.parts.length} parts, ${formatBytes(dataBytes)}, ` +
        `${plan.indexes.length} indexes and keys, ${plan.foreignKeys.length} foreign keys) with ${jobs} workers from snapshot ${snapshot.id}`,
    );
    const [archived, opened] = await started;
    timer.mark("schema dumped");
    if (opened.status === "fulfilled") [readers, loaders] = [[...opened.value[0]], [...opened.value[1]]];
    if (archived.status === "rejected") throw archived.reason;
    if (opened.status === "rejected") throw opened.reason;
    const archive = archived.value;
    // The post-data section's table of contents: what is left of it after the items built
    // here goes to pg_restore at the end (nothing at all, often: then pg_restore is not run).
    const listing = pgToolOutput(tools.pgRestore, ["-l", "--section=post-data"], {
      env: childEnv(target),
      secrets,
      what: "pg_restore -l of the schema",
      input: archive,
    });
    const restoring = runPgTool(
      tools.pgRestore,
      [
        ...connectionArgs(target),
        "--section=pre-data",
        "--section=data",
        "--exit-on-error",
        ...ownerFlags(options.noOwner),
      ],
      {
        env: childEnv(target),
        secrets,
        what: "pg_restore of the schema into the target",
        input: archive,
      },
    ).done;
    const [listed, restored] = await Promise.allSettled([listing, restoring]);
    if (restored.status === "rejected") throw restored.reason;
    if (listed.status === "rejected") throw listed.reason;
    const toc = listed.value.toString("utf8");
    timer.mark("schema");

    const known = new Map<string, Content>();
    const sourceContent = new Map<string, Content>();
    const verified = tableProgress(
      "verify",
      new Map(sourceSchema.tables.map((t) => [t.name, t.bytes])),
      reporter,
    );
    await runTasks(
      buildTasks(plan, tables, sourceSchema, {
        readers,
        loaders,
        rules,
        known,
        sourceContent,
        verified,
        options,
      }),
      jobs,
    );
    timer.mark("scheduled work");

    await timer.busy("post-data", async () => {
      const postData = remainingPostData(
        toc,
        [...plan.indexes, ...plan.foreignKeys].map((i) => i.tocKey),
      );
      if (postData !== undefined) {
        // pg_restore opens its -L list by name, and Node's pipes are sockets it cannot open:
        // a file then, of object names only, removed on every way out.
        const listDir = mkdtempSync(path.join(os.tmpdir(), "tines-db-migrate-"));
        const releaseList = removeOnExit(listDir);
        const listFile = path.join(listDir, "post-data.list");
        writeFileSync(listFile, postData, { mode: 0o600 });
        await runPgTool(
          tools.pgRestore,
          [
            ...connectionArgs(target),
            "--section=post-data",
            "--exit-on-error",
            "-L",
            listFile,
            ...ownerFlags(options.noOwner),
          ],
          {
            env: childEnv(target),
            secrets,
            what: "pg_restore of triggers, rules and the rest of the post-data section",
            input: archive,
          },
        ).done.finally(releaseList);
      }
      // Materialized views got their rows just now, partitioned parents have no rows of
      // their own: both get their statistics here.
      const { rows } = await loaders[0].query<{ name: string }>(
        `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('m', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')`,
      );
      for (const { name } of rows) await loaders[0].query(`ANALYZE ${name}`);
    });
    timer.mark("post-data");

    const writes = options.expectWrites ? 0n : await writesSince(source, snapshot);
    if (writes > 0n) {
      reporter.warn(
        `db-migrate: ${writes} transactions wrote on the source server after the snapshot; the copy (verified) is the database as of the snapshot, without them (are all Tines services down?)`,
      );
    }
    // Whatever the scheduler did not checksum on the source (nothing, normally) in the snapshot.
    const sourceFull = await describeContent(readers, sourceSchema, rules, "source", sourceContent);
    await closeAll(readers);
    readers = [];
    sourceFull.sequences = await copyLiveSequences(source, loaders[0], Object.keys(sourceFull.sequences));
    // The loaders render rows as the verification's sessions do (same settings).
    const targetSchema = await describeSchema(loaders[0]);
    const targetFull = await describeContent(loaders, targetSchema, rules, "target", known, verified);
    timer.mark("verified");
    return { sourceFull, targetFull };
  } finally {
    await closeAll([...readers, ...loaders]);
  }
}

function buildTasks(
  plan: CopyPlan,
  tables: CopiedTable[],
  sourceSchema: DatabaseDescription,
  context: {
    readers: Client[];
    loaders: Client[];
    rules: Awaited<ReturnType<typeof checksumRules>>;
    known: Map<string, Content>;
    sourceContent: Map<string, Content>;
    verified: TableProgress;
    options: StreamedCopyOptions;
  },
): Task[] {
  const { readers, loaders, rules, known, sourceContent, options } = context;
  const { timer, reporter } = options;
  const byName = new Map(tables.map((t) => [t.name, t]));
  const sizes = new Map(tables.map((t) => [t.name, t.bytes]));
  const copied = tableProgress("restore", sizes, reporter);
  const verified = context.verified;
  const tasks: Task[] = [];
  const partsOf = new Map<string, string[]>();
  const indexesOf = new Map<string, string[]>();
  const remainingParts = new Map<string, number>();
  let partsDone = 0;
  for (const part of plan.parts) {
    const id = `copy ${part.id}`;
    partsOf.set(part.table, [...(partsOf.get(part.table) ?? []), id]);
    remainingParts.set(part.table, (remainingParts.get(part.table) ?? 0) + 1);
    tasks.push({
      id,
      cost: part.bytes * COST.copy,
      after: [],
      run: (slot) =>
        timer.busy(
          "copy",
          async () => {
            const table = byName.get(part.table)!;
            await copyPart(
              readers[slot],
              loaders[slot],
              part,
              plan.columns.get(part.table) ?? "",
              table.binary,
            );
            const left = remainingParts.get(part.table)! - 1;
            remainingParts.set(part.table, left);
            if (left === 0) copied.finish(part.table);
            if (++partsDone === plan.parts.length) timer.mark("rows");
          },
          part.id,
        ),
    });
  }
  let built = 0;
  for (const item of plan.indexes) {
    const id = `index ${item.tocKey}`;
    indexesOf.set(item.table, [...(indexesOf.get(item.table) ?? []), id]);
    tasks.push({
      id,
      cost: item.bytes * COST.indexSize + (plan.mainBytes.get(item.table) ?? 0) * COST.indexHeap,
      after: partsOf.get(item.table) ?? [],
      run: (slot) =>
        timer.busy(
          "index",
          async () => {
            await loaders[slot].query(item.sql);
            reporter.info(`indexes: ${item.label} done (${++built} of ${plan.indexes.length})`);
          },
          item.label,
        ),
    });
  }
  for (const item of plan.foreignKeys) {
    const references = item.references!;
    tasks.push({
      id: `foreign key ${item.tocKey}`,
      cost: (plan.mainBytes.get(item.table) ?? 0) * COST.foreignKey,
      after: [
        ...(partsOf.get(item.table) ?? []),
        ...(partsOf.get(references) ?? []),
        ...(indexesOf.get(item.table) ?? []),
        ...(indexesOf.get(references) ?? []),
      ],
      run: (slot) =>
        timer.busy("foreign key", () => loaders[slot].query(item.sql).then(() => undefined), item.label),
    });
  }
  for (const table of tables) {
    tasks.push({
      id: `analyze ${table.name}`,
      cost: (plan.mainBytes.get(table.name) ?? 0) * COST.analyze,
      after: [...(partsOf.get(table.name) ?? []), ...(indexesOf.get(table.name) ?? [])],
      run: (slot) =>
        timer.busy(
          "analyze",
          () => loaders[slot].query(`ANALYZE ${table.name}`).then(() => undefined),
          table.name,
        ),
    });
    tasks.push({
      id: `target checksum ${table.name}`,
      cost: table.bytes * COST.checksum,
      after: partsOf.get(table.name) ?? [],
      run: (slot) =>
        timer.busy(
          "checksum",
          async () => {
            known.set(table.name, await tableContent(loaders[slot], table.name, rules, "target"));
            verified.finish(table.name);
          },
          `target ${table.name}`,
        ),
    });
  }
  for (const table of sourceSchema.tables) {
    tasks.push({
      id: `source checksum ${table.name}`,
      cost: table.bytes * COST.checksum,
      after: [],
      run: (slot) =>
        timer.busy(
          "checksum",
          async () => {
            sourceContent.set(table.name, await tableContent(readers[slot], table.name, rules, "source"));
          },
          `source ${table.name}`,
        ),
    });
  }
  return tasks;
}

/** Sequences move outside any snapshot: read live on a new session, after everything else. */
async function copyLiveSequences(
  source: PgTarget,
  to: Client,
  names: string[],
): Promise<Record<string, string>> {
  if (names.length === 0) return {};
  const from = await connect(source, "source");
  try {
    return await copySequences(from, to, names);
  } finally {
    await from.end().catch(() => undefined);
  }
}
