/**
 * The backup the seed asks for before any database work: one custom-format archive
 * (`pg_dump -Fc`, restorable with `pg_restore -j`), named with stack, phase and time,
 * written to a directory and/or uploaded to S3, with its size and sha256.
 */
import { createHash } from "node:crypto";
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  statfsSync,
  statSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";
import type { S3Client } from "@aws-sdk/client-s3";
import type { Client } from "pg";
import { ConfigError, GateError, MaintenanceError, oneLine } from "../errors";
import type { ProgressReporter } from "../progress";
import { removeOnExit } from "./cleanup";
import { childEnv, connectionArgs, parsePgUrl, secretsOf, type PgTarget } from "./connection";
import { runOperation } from "./operation";
import { describeSchema } from "./inspect";
import { findPgTools, runPgTool, serverMajor } from "./pgTools";
import { tableProgress, formatBytes } from "./progress";
import { connect } from "./session";
import { awsClientConfig, type AwsSettings } from "../aws/settings";

export interface BackupOptions {
  url: string;
  /** Local directory; required unless s3 is given. */
  directory?: string;
  s3?: { bucket: string; prefix?: string; region?: string; endpoint?: string; aws?: AwsSettings };
  stack: string;
  phase: string;
  compressLevel?: number;
  binDir?: string;
  reporter: ProgressReporter;
  /** Names the flag/key of the URL in messages. */
  urlName?: string;
  now?: Date;
  /** Stops the dump or upload (the engine died, the update was cancelled); its files are removed. */
  signal?: AbortSignal;
}

export interface BackupResult {
  /** File name, e.g. `prod-shutdown-tines-20261125T130000Z.dump`. */
  name: string;
  /** Local path, if kept locally. */
  path?: string;
  /** `s3://bucket/key`, if uploaded. */
  s3Uri?: string;
  bytes: number;
  sha256: string;
  tables: number;
  seconds: number;
  /**
   * The server's next transaction id when the dump began: while it has not moved, no
   * transaction has written anywhere on the server, so the dump still is the database.
   */
  nextXid: string;
}

/** The server's next transaction id (cluster-wide; reading it writes nothing). */
export async function nextTransactionId(client: Client): Promise<string> {
  const { rows } = await client.query<{ x: string }>(
    "SELECT txid_snapshot_xmax(txid_current_snapshot())::text AS x",
  );
  return rows[0].x;
}

/** The sha256 of a file, read as a stream. */
export async function fileSha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(file), hash);
  return hash.digest("hex");
}

/**
 * `name`, or `<name without .dump>-2.dump` and so on when a file of that name is there: a
 * second dump within the same second (a quick retry) never writes over the earlier backup.
 */
function unusedName(directory: string, name: string): string {
  let candidate = name;
  for (let n = 2; existsSync(path.join(directory, candidate)); n++)
    candidate = name.replace(/\.dump$/, `-${n}.dump`);
  return candidate;
}

/** `prod`, `shutdown`, `tines`, 2026-11-25T13:00:00.123Z -> `prod-shutdown-tines-20261125T130000Z.dump`. */
export function backupFileName(stack: string, phase: string, database: string, now: Date): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, "_");
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${safe(stack)}-${safe(phase)}-${safe(database)}-${stamp}.dump`;
}

export function s3Key(prefix: string | undefined, name: string): string {
  const clean = (prefix ?? "").replace(/^\/+/, "");
  return clean === "" ? name : `${clean.replace(/\/+$/, "")}/${name}`;
}

const PART_BYTES = 64 * 1024 * 1024;

/** Upload a file; multipart above 64 MiB so that no size limit of a single PUT applies. */
export async function uploadFile(
  client: S3Client,
  file: string,
  bytes: number,
  bucket: string,
  key: string,
  sha256: string,
  reporter: ProgressReporter,
  options: { partBytes?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const s3 = require("@aws-sdk/client-s3") as typeof import("@aws-sdk/client-s3");
  const partBytes = options.partBytes ?? PART_BYTES;
  const sending = { abortSignal: options.signal };
  const Metadata = { sha256 };
  if (bytes <= partBytes) {
    await client.send(
      new s3.PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: createReadStream(file),
        ContentLength: bytes,
        Metadata,
      }),
      sending,
    );
    return;
  }
  const { UploadId } = await client.send(
    new s3.CreateMultipartUploadCommand({ Bucket: bucket, Key: key, Metadata }),
    sending,
  );
  try {
    const parts: Array<{ ETag?: string; PartNumber: number }> = [];
    const startedAt = Date.now();
    for (let offset = 0, PartNumber = 1; offset < bytes; offset += partBytes, PartNumber += 1) {
      const length = Math.min(partBytes, bytes - offset);
      const { ETag } = await client.send(
        new s3.UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          PartNumber,
          ContentLength: length,
          Body: createReadStream(file, { start: offset, end: offset + length - 1 }),
        }),
        sending,
      );
      parts.push({ ETag, PartNumber });
      const done = offset + length;
      const elapsed = (Date.now() - startedAt) / 1000;
      reporter.info(
        `backup: uploaded ${formatBytes(done)} of ${formatBytes(bytes)}` +
          (done < bytes ? `, ~${Math.round((elapsed * (bytes - done)) / done)}s left` : ""),
      );
    }
    await client.send(
      new s3.CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: parts },
      }),
      sending,
    );
  } catch (error) {
    await client
      .send(new s3.AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId }))
      .catch(() => undefined);
    throw error;
  }
}

export function s3Client(s3: NonNullable<BackupOptions["s3"]>): S3Client {
  const { S3Client: Client } = require("@aws-sdk/client-s3") as typeof import("@aws-sdk/client-s3");
  // `s3Region` / `s3Endpoint` override the stack's `aws:*` settings and the environment.
  return new Client(
    awsClientConfig(s3.aws ?? {}, "s3", {
      region: s3.region,
      endpoint: s3.endpoint,
      fallbackRegion: "us-east-1",
    }),
  );
}

export async function backupDatabase(options: BackupOptions): Promise<BackupResult> {
  const urlName = options.urlName ?? "--url";
  const source = parsePgUrl(options.url, urlName);
  if (!options.directory && !options.s3) throw new ConfigError("backup: set a directory and/or an S3 bucket");
  return runOperation(
    {
      name: "backup",
      servers: [source],
      signal: options.signal,
      report: (line) => options.reporter.info(line),
    },
    () => dumpDatabase(options, source),
  );
}

async function dumpDatabase(options: BackupOptions, source: PgTarget): Promise<BackupResult> {
  const level = options.compressLevel ?? 1;
  const { reporter } = options;
  const startedAt = Date.now();

  const client = await connect(source, "database");
  let schema: Awaited<ReturnType<typeof describeSchema>>;
  let nextXid: string;
  try {
    schema = await describeSchema(client);
    nextXid = await nextTransactionId(client);
  } finally {
    await client.end().catch(() => undefined);
  }
  const tools = findPgTools(serverMajor(schema.serverVersionNum), options.binDir);
  const sizes = new Map(schema.tables.map((t) => [t.name, t.bytes]));
  const dataBytes = [...sizes.values()].reduce((a, b) => a + b, 0);

  // A staging directory of our own goes on every way out; the operator's directory stays.
  const staging = options.directory ?? mkdtempSync(path.join(os.tmpdir(), "tines-db-backup-"));
  const name = unusedName(
    staging,
    backupFileName(options.stack, options.phase, source.database, options.now ?? new Date()),
  );
  const releaseStaging = options.directory ? () => undefined : removeOnExit(staging);
  const finalPath = path.join(staging, name);
  const partialPath = `${finalPath}.partial`;
  const releasePartial = removeOnExit(partialPath);
  const secrets = secretsOf([source]);
  const hash = createHash("sha256");
  let bytes = 0;
  try {
    try {
      mkdirSync(staging, { recursive: true });
    } catch (error) {
      throw new GateError(
        `${options.directory ? "database.backup.directory: creating" : "creating the staging directory"} ${staging} failed: ${oneLine(error)}`,
      );
    }
    const free = statfsSync(staging);
    // Compressed dumps are usually far smaller than the tables; uncompressed ones are not.
    const needed = level === 0 ? dataBytes : dataBytes / 3;
    if (free.bavail * free.bsize < needed) {
      throw new GateError(
        `not enough space in ${staging} for the backup: ${formatBytes(free.bavail * free.bsize)} free, about ${formatBytes(needed)} needed`,
      );
    }
    reporter.info(
      `backup: dumping ${source.display} (${sizes.size} tables, ${formatBytes(dataBytes)}) to ${name}`,
    );
    const progress = tableProgress("backup", sizes, reporter, true);
    const { child, done } = runPgTool(
      tools.pgDump,
      [...connectionArgs(source), "-Fc", "-Z", String(level), "-v"],
      {
        env: childEnv(source),
        secrets,
        what: "pg_dump of the database",
        onLine: (l) => progress.line(l),
      },
      { stdout: "pipe" },
    );
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        bytes += chunk.length;
        callback(null, chunk);
      },
    });
    const writing = pipeline(child.stdout!, hashing, createWriteStream(partialPath, { mode: 0o600 })).catch(
      (error: NodeJS.ErrnoException) => {
        // The file could not be written: pg_dump has nowhere to go.
        child.kill("SIGTERM");
        throw new GateError(
          `${options.directory ? "database.backup.directory: " : ""}writing the dump to ${partialPath} failed: ${oneLine(error)}`,
        );
      },
    );
    await Promise.all([writing, done.catch((error: unknown) => writing.then(() => Promise.reject(error)))]);
    progress.close();
    // A truncated archive has no readable table of contents.
    await runPgTool(tools.pgRestore, ["-l", partialPath], {
      env: childEnv(source),
      secrets,
      what: "pg_restore -l of the backup",
    }).done;
    renameSync(partialPath, finalPath);
  } catch (error) {
    releasePartial();
    releaseStaging();
    throw error;
  }
  releasePartial();
  const sha256 = hash.digest("hex");
  const result: BackupResult = { name, bytes, sha256, tables: sizes.size, seconds: 0, nextXid };
  if (options.directory) result.path = finalPath;
  try {
    if (options.s3) {
      const key = s3Key(options.s3.prefix, name);
      reporter.info(`backup: uploading ${formatBytes(bytes)} to s3://${options.s3.bucket}/${key}`);
      const client = s3Client(options.s3);
      try {
        await uploadFile(client, finalPath, bytes, options.s3.bucket, key, sha256, reporter, {
          signal: options.signal,
        });
      } catch (error) {
        throw new MaintenanceError(
          `backup upload to s3://${options.s3.bucket}/${key} failed: ${(error as Error).message}`,
        );
      } finally {
        client.destroy();
      }
      result.s3Uri = `s3://${options.s3.bucket}/${key}`;
    }
  } finally {
    releaseStaging();
  }
  result.seconds = (Date.now() - startedAt) / 1000;
  reporter.info(
    `backup: ${result.path ?? result.s3Uri} ${formatBytes(bytes)} sha256 ${sha256} in ${result.seconds.toFixed(1)}s`,
  );
  return result;
}

/** An earlier dump of this window, as its update recorded it. */
export interface EarlierBackup {
  url: string;
  path?: string;
  s3?: { bucket: string; key: string; region?: string; endpoint?: string; aws?: AwsSettings };
  bytes: number;
  sha256: string;
  nextXid: string;
}

/**
 * Why `earlier` cannot stand for a new dump, or undefined when it can: it is still where it
 * was written with the same bytes (the local file re-read and hashed; the S3 object's size
 * and recorded sha256), and no transaction has written on the server since it began.
 */
export async function whyNotReusable(
  earlier: EarlierBackup,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const source = parsePgUrl(earlier.url, "database.url");
  if (earlier.path) {
    if (!existsSync(earlier.path)) return `the earlier dump ${earlier.path} is gone`;
    if (statSync(earlier.path).size !== earlier.bytes) return `the earlier dump ${earlier.path} changed size`;
    if ((await fileSha256(earlier.path)) !== earlier.sha256)
      return `the earlier dump ${earlier.path} no longer has its sha256`;
  }
  if (earlier.s3) {
    const uri = `s3://${earlier.s3.bucket}/${earlier.s3.key}`;
    const { HeadObjectCommand } = require("@aws-sdk/client-s3") as typeof import("@aws-sdk/client-s3");
    const client = s3Client(earlier.s3);
    try {
      const head = await client.send(
        new HeadObjectCommand({ Bucket: earlier.s3.bucket, Key: earlier.s3.key }),
        {
          abortSignal: signal,
        },
      );
      if (head.ContentLength !== earlier.bytes || head.Metadata?.sha256 !== earlier.sha256)
        return `the earlier upload ${uri} is not the one recorded`;
    } catch (error) {
      return `the earlier upload ${uri} cannot be read (${oneLine(error)})`;
    } finally {
      client.destroy();
    }
  }
  const client = await connect(source, "database");
  try {
    const now = await nextTransactionId(client);
    if (now !== earlier.nextXid)
      return `transactions have run on the server since the earlier dump began (next transaction id ${earlier.nextXid} then, ${now} now)`;
  } finally {
    await client.end().catch(() => undefined);
  }
  return undefined;
}
