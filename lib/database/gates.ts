/**
 * What the `database-backup` and `database-migration` resources do, kept out of the
 * dynamic providers so that they stay thin. Inputs carry the URLs (Pulumi secrets); the
 * outputs never do: only redacted locations, sizes, checksums and the comparison summary.
 */
import type { AwsSettings } from "../aws/settings";
import type { ProgressReporter } from "../progress";
import { redactUrl } from "../redact";
import { isNonEmptyString, ruleFailure, type InputFailure, type Inputs } from "../config/validation";
import { backupDatabase, whyNotReusable, type EarlierBackup } from "./backup";
import type { Comparison } from "./inspect";
import { migrateDatabase } from "./migrate";

export interface BackupGateInputs {
  url: string;
  stack: string;
  phase: string;
  directory?: string;
  s3Bucket?: string;
  s3Prefix?: string;
  s3Region?: string;
  s3Endpoint?: string;
  compressLevel: number;
  /** A new value takes another backup on the next update. */
  trigger: string;
  /** The window record's windowStartedAt: within one window, a verified earlier dump is reused. */
  windowStartedAt?: string;
}

export interface BackupGateOutputs {
  database: string;
  name: string;
  /** Where the backup is: the local path and/or the s3:// URI, space separated. */
  location: string;
  path: string;
  s3Uri: string;
  bytes: number;
  sha256: string;
  tables: number;
  seconds: number;
  finishedAt: string;
  /** Echoed so that `diff` sees a changed destination or trigger without the URL. */
  destination: string;
  trigger: string;
  windowStartedAt: string;
  /** The server's next transaction id when the dump began (backup.ts BackupResult.nextXid). */
  nextXid: string;
  /** This update took no dump: the earlier one of the same window still is the database. */
  reused: boolean;
}

export interface MigrationGateInputs {
  sourceUrl: string;
  targetUrl: string;
  jobs: number;
  allowNonEmptyTarget: boolean;
  noOwner: boolean;
  checksumMaxTableMiB: number;
  trigger: string;
  /** The stack and window that mark the target (targetMarker.ts), so a rerun restarts its own copy. */
  stack?: string;
  windowStartedAt?: string;
}

export interface MigrationGateOutputs {
  source: string;
  target: string;
  tables: number;
  checksummedTables: number;
  rows: string;
  sequences: number;
  mismatches: number;
  summary: string;
  jobs: number;
  seconds: { dump: number; restore: number; verify: number; total: number };
  finishedAt: string;
  trigger: string;
}

export function backupDestination(
  inputs: Pick<BackupGateInputs, "directory" | "s3Bucket" | "s3Prefix">,
): string {
  return [inputs.directory ?? "", inputs.s3Bucket ? `s3://${inputs.s3Bucket}/${inputs.s3Prefix ?? ""}` : ""]
    .filter(Boolean)
    .join(" ");
}

export function checkBackupInputs(inputs: Inputs): InputFailure[] {
  return [
    ...ruleFailure(inputs, "url", isNonEmptyString, "database.url is required"),
    ...(inputs.directory || inputs.s3Bucket
      ? []
      : [
          {
            property: "directory",
            reason: "database.backup.directory or database.backup.s3Bucket is required",
          },
        ]),
  ];
}

export function checkMigrationInputs(inputs: Inputs): InputFailure[] {
  return [
    ...ruleFailure(inputs, "sourceUrl", isNonEmptyString, "database.url is required"),
    ...ruleFailure(inputs, "targetUrl", isNonEmptyString, "database.migration.targetUrl is required"),
  ];
}

/** Re-run only for a new trigger or destination: a backup or migration is not repeated by accident. */
export function backupDiff(olds: Record<string, unknown>, news: Record<string, unknown>) {
  const changed: string[] = [];
  if ((olds.trigger ?? "") !== (news.trigger ?? "")) changed.push("trigger");
  if ((olds.destination ?? "") !== backupDestination(news as Partial<BackupGateInputs>))
    changed.push("directory");
  return { changes: changed.length > 0, replaces: [], deleteBeforeReplace: false };
}

export function migrationDiff(olds: Record<string, unknown>, news: Record<string, unknown>) {
  const changed: string[] = [];
  if ((olds.trigger ?? "") !== (news.trigger ?? "")) changed.push("trigger");
  if (typeof news.targetUrl === "string" && olds.target !== redactUrl(news.targetUrl))
    changed.push("targetUrl");
  return { changes: changed.length > 0, replaces: [], deleteBeforeReplace: false };
}

/**
 * The earlier update's dump, when it was taken in the same window, to the same destination,
 * of the same database: a candidate for reuse (whyNotReusable decides).
 */
function earlierBackup(
  previous: Record<string, unknown> | undefined,
  inputs: BackupGateInputs,
  aws: AwsSettings,
): EarlierBackup | undefined {
  if (!previous || !inputs.windowStartedAt || previous.windowStartedAt !== inputs.windowStartedAt)
    return undefined;
  if (previous.destination !== backupDestination(inputs) || previous.database !== redactUrl(inputs.url))
    return undefined;
  if (typeof previous.sha256 !== "string" || typeof previous.nextXid !== "string") return undefined;
  const s3 = typeof previous.s3Uri === "string" ? /^s3:\/\/([^/]+)\/(.+)$/.exec(previous.s3Uri) : null;
  return {
    url: inputs.url,
    path: typeof previous.path === "string" && previous.path ? previous.path : undefined,
    s3: s3
      ? {
          bucket: s3[1],
          key: s3[2],
          region: inputs.s3Region || undefined,
          endpoint: inputs.s3Endpoint || undefined,
          aws,
        }
      : undefined,
    bytes: Number(previous.bytes),
    sha256: previous.sha256,
    nextXid: previous.nextXid,
  };
}

export async function runBackupGate(
  inputs: BackupGateInputs,
  reporter: ProgressReporter,
  aws: AwsSettings = {},
  options: { signal?: AbortSignal; previous?: Record<string, unknown> } = {},
): Promise<BackupGateOutputs> {
  const earlier = earlierBackup(options.previous, inputs, aws);
  if (earlier && options.previous) {
    const why = await whyNotReusable(earlier, options.signal);
    const previous = options.previous as unknown as BackupGateOutputs;
    if (why === undefined) {
      reporter.info(
        `backup: reusing ${previous.location} from this window's earlier update: its sha256 ${previous.sha256} matches ` +
          "and no transaction has run on the server since it began",
      );
      return {
        database: previous.database,
        name: previous.name,
        location: previous.location,
        path: previous.path,
        s3Uri: previous.s3Uri,
        bytes: previous.bytes,
        sha256: previous.sha256,
        tables: previous.tables,
        seconds: 0,
        finishedAt: new Date().toISOString(),
        destination: previous.destination,
        trigger: inputs.trigger,
        windowStartedAt: previous.windowStartedAt,
        nextXid: previous.nextXid,
        reused: true,
      };
    }
    reporter.info(`backup: taking a new dump rather than reusing this window's earlier one: ${why}`);
  }
  const result = await backupDatabase({
    url: inputs.url,
    urlName: "database.url",
    directory: inputs.directory || undefined,
    s3: inputs.s3Bucket
      ? {
          bucket: inputs.s3Bucket,
          prefix: inputs.s3Prefix,
          region: inputs.s3Region || undefined,
          endpoint: inputs.s3Endpoint || undefined,
          aws,
        }
      : undefined,
    stack: inputs.stack,
    phase: inputs.phase,
    compressLevel: inputs.compressLevel,
    reporter,
    signal: options.signal,
  });
  return {
    database: redactUrl(inputs.url),
    name: result.name,
    location: [result.path, result.s3Uri].filter(Boolean).join(" "),
    path: result.path ?? "",
    s3Uri: result.s3Uri ?? "",
    bytes: result.bytes,
    sha256: result.sha256,
    tables: result.tables,
    seconds: Math.round(result.seconds * 10) / 10,
    finishedAt: new Date().toISOString(),
    destination: backupDestination(inputs),
    trigger: inputs.trigger,
    windowStartedAt: inputs.windowStartedAt ?? "",
    nextXid: result.nextXid,
    reused: false,
  };
}

export async function runMigrationGate(
  inputs: MigrationGateInputs,
  reporter: ProgressReporter,
  options: { signal?: AbortSignal } = {},
): Promise<MigrationGateOutputs> {
  const result = await migrateDatabase({
    sourceUrl: inputs.sourceUrl,
    targetUrl: inputs.targetUrl,
    jobs: inputs.jobs > 0 ? inputs.jobs : undefined,
    allowNonEmptyTarget: inputs.allowNonEmptyTarget,
    noOwner: inputs.noOwner,
    checksumMaxBytes: inputs.checksumMaxTableMiB * 1024 * 1024,
    reporter,
    names: {
      source: "database.url",
      target: "database.migration.targetUrl",
      allowNonEmpty: "database.migration.allowNonEmptyTarget",
      noOwner: "database.migration.noOwner",
    },
    signal: options.signal,
    marker:
      inputs.stack && inputs.windowStartedAt
        ? { stack: inputs.stack, windowStartedAt: inputs.windowStartedAt }
        : undefined,
  });
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    ...comparisonOutputs(inputs, result.comparison, result.report),
    jobs: result.jobs,
    seconds: {
      dump: round(result.seconds.dump),
      restore: round(result.seconds.restore),
      verify: round(result.seconds.verify),
      total: round(result.seconds.total),
    },
    finishedAt: new Date().toISOString(),
    trigger: inputs.trigger,
  };
}

/** What a verified copy's outputs say of it: both places (redacted) and the comparison's totals. */
export function comparisonOutputs(
  inputs: Pick<MigrationGateInputs, "sourceUrl" | "targetUrl">,
  comparison: Comparison,
  report: string,
): Pick<
  MigrationGateOutputs,
  "source" | "target" | "tables" | "checksummedTables" | "rows" | "sequences" | "mismatches" | "summary"
> {
  return {
    source: redactUrl(inputs.sourceUrl),
    target: redactUrl(inputs.targetUrl),
    tables: comparison.tables.length,
    checksummedTables: comparison.checksummedTables,
    rows: comparison.totalRows.toString(),
    sequences: comparison.sequences,
    mismatches: comparison.mismatches.length,
    summary:
      report
        .split("\n")
        .filter((l) => !l.startsWith("MISMATCH"))
        .pop() ?? "",
  };
}
