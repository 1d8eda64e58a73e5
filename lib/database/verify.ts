/**
 * The verification: row counts and content checksums of every table (checksum.ts), then
 * the comparison of both sides' descriptions (inspect.ts). Used by the streamed copy for
 * what it did not checksum while copying, and on its own after a dump and restore.
 */
import type { Client } from "pg";
import type { ProgressReporter } from "../progress";
import type { PgTarget } from "./connection";
import { contentQuery, HASH_MIN_MAJOR, tableColumns, type ColumnInfo } from "./checksum";
import {
  compareDescriptions,
  describeSchema,
  formatComparison,
  prepareSession,
  type Comparison,
  type DatabaseDescription,
  type TableStats,
} from "./inspect";
import { serverMajor } from "./pgTools";
import { tableProgress, type TableProgress } from "./progress";
import { connect, poolMap } from "./session";

export interface Content {
  rows: string;
  checksum?: string;
}

/** How both sides checksum: decided once, from the source, so both run the same SQL. */
export interface ChecksumRules {
  hashing: boolean;
  /** Source columns per table (only needed when hashing). */
  columns: Map<string, ColumnInfo[]>;
  checksumMaxBytes: number;
  /** Source sizes: a table over the limit gets row counts only, on both sides. */
  sourceBytes: Map<string, number>;
}

export async function checksumRules(
  sourceClient: Client,
  source: { serverVersionNum: number; tables: TableStats[] },
  targetVersionNum: number,
  checksumMaxBytes: number,
): Promise<ChecksumRules> {
  const hashing =
    Math.min(serverMajor(source.serverVersionNum), serverMajor(targetVersionNum)) >= HASH_MIN_MAJOR;
  return {
    hashing,
    columns: hashing ? await tableColumns(sourceClient) : new Map(),
    checksumMaxBytes,
    sourceBytes: new Map(source.tables.map((t) => [t.name, t.bytes])),
  };
}

/**
 * Row count and, within the limit, checksum of one table. On the target side a failing
 * query (a column the source has and the target lacks) is a difference, not a crash.
 */
export async function tableContent(
  client: Client,
  table: string,
  rules: ChecksumRules,
  side: "source" | "target",
): Promise<Content> {
  const bytes = rules.sourceBytes.get(table) ?? 0;
  const withChecksum = rules.checksumMaxBytes > 0 && bytes <= rules.checksumMaxBytes;
  const sql = contentQuery(table, rules.columns.get(table) ?? [], { hashing: rules.hashing, withChecksum });
  if (side === "source") return (await client.query<Content>(sql)).rows[0];
  try {
    return (await client.query<Content>(sql)).rows[0];
  } catch (error) {
    return {
      rows: `unreadable (${(error as Error).message})`,
      checksum: withChecksum ? "unreadable" : undefined,
    };
  }
}

export async function openSessions(target: PgTarget, role: string, count: number): Promise<Client[]> {
  const clients: Client[] = [];
  try {
    for (let i = 0; i < count; i++) clients.push(await connect(target, role));
    await Promise.all(clients.map(prepareSession));
    return clients;
  } catch (error) {
    await closeAll(clients);
    throw error;
  }
}

export async function closeAll(clients: Client[]): Promise<void> {
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
}

/** Fill in every table's content, reusing what is `known`, `clients.length` tables at a time. */
export async function describeContent(
  clients: Client[],
  schema: DatabaseDescription,
  rules: ChecksumRules,
  side: "source" | "target",
  known: Map<string, Content> = new Map(),
  progress?: TableProgress,
): Promise<DatabaseDescription> {
  const tables = await poolMap(schema.tables, clients.length, async (table, worker) => {
    const content = known.get(table.name) ?? (await tableContent(clients[worker], table.name, rules, side));
    progress?.finish(table.name);
    return { ...table, ...content };
  });
  return { ...schema, tables };
}

/** Half of `jobs` sessions on each side (at least one), or none when either side fails. */
export async function openBothSides(
  source: PgTarget,
  target: PgTarget,
  jobs: number,
): Promise<{ sourceClients: Client[]; targetClients: Client[] }> {
  const perSide = Math.max(1, Math.ceil(jobs / 2));
  const [opened, openedTarget] = await Promise.allSettled([
    openSessions(source, "source", perSide),
    openSessions(target, "target", perSide),
  ]);
  if (opened.status === "rejected" || openedTarget.status === "rejected") {
    await closeAll([
      ...(opened.status === "fulfilled" ? opened.value : []),
      ...(openedTarget.status === "fulfilled" ? openedTarget.value : []),
    ]);
    throw opened.status === "rejected" ? opened.reason : (openedTarget as PromiseRejectedResult).reason;
  }
  return { sourceClients: opened.value, targetClients: openedTarget.value };
}

/** Compare two live databases table by table (both sides at once). */
export async function verifyCopy(
  source: PgTarget,
  target: PgTarget,
  options: { jobs: number; checksumMaxBytes: number; compareOwners: boolean; reporter: ProgressReporter },
): Promise<{ comparison: Comparison; report: string }> {
  const { sourceClients, targetClients } = await openBothSides(source, target, options.jobs);
  try {
    const [sourceSchema, targetSchema] = await Promise.all([
      describeSchema(sourceClients[0]),
      describeSchema(targetClients[0]),
    ]);
    const rules = await checksumRules(
      sourceClients[0],
      sourceSchema,
      targetSchema.serverVersionNum,
      options.checksumMaxBytes,
    );
    const sizes = new Map(sourceSchema.tables.map((t) => [t.name, t.bytes]));
    const progress = tableProgress("verify", sizes, options.reporter);
    const [sourceFull, targetFull] = await Promise.all([
      describeContent(sourceClients, sourceSchema, rules, "source"),
      describeContent(targetClients, targetSchema, rules, "target", undefined, progress),
    ]);
    const comparison = compareDescriptions(sourceFull, targetFull, { compareOwners: options.compareOwners });
    return { comparison, report: formatComparison(comparison) };
  } finally {
    await Promise.all([closeAll(sourceClients), closeAll(targetClients)]);
  }
}
