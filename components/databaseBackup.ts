/**
 * The backup before any database work (Pulumi name `database-backup`): taken once the
 * application tier is down and before redis/postgres change. Its outputs say where the
 * dump is, how big, and its sha256; the URL stays a secret input and never comes back.
 */
import * as pulumi from "@pulumi/pulumi";
import type { BackupConfig } from "../lib/database/config";
import { databaseBackupProvider } from "./providers/databaseBackupProvider";

export interface DatabaseBackupArgs {
  /** `database.url`; wrapped as a secret here whatever the caller passes. */
  url: pulumi.Input<string>;
  backup: BackupConfig;
  stack: string;
  phase: string;
  /**
   * The update this backup belongs to (index.ts: the update's start time). A dump holds
   * only for the update that took it, once the application tier was down: every update
   * brings a new value, so a retried shutdown dumps again and never keeps a dump from
   * before the app could have been started again and written rows.
   */
  runId: pulumi.Input<string>;
}

export class DatabaseBackupDump extends pulumi.dynamic.Resource {
  declare public readonly name: pulumi.Output<string>;
  declare public readonly location: pulumi.Output<string>;
  declare public readonly bytes: pulumi.Output<number>;
  declare public readonly sha256: pulumi.Output<string>;
  declare public readonly tables: pulumi.Output<number>;
  declare public readonly seconds: pulumi.Output<number>;

  constructor(name: string, args: DatabaseBackupArgs, opts?: pulumi.CustomResourceOptions) {
    const b = args.backup;
    super(
      databaseBackupProvider,
      name,
      {
        url: pulumi.secret(args.url),
        stack: args.stack,
        phase: args.phase,
        directory: b.directory ?? "",
        s3Bucket: b.s3Bucket ?? "",
        s3Prefix: b.s3Prefix,
        s3Region: b.s3Region ?? "",
        s3Endpoint: b.s3Endpoint ?? "",
        compressLevel: b.compressLevel,
        // The provider's re-run key (backupDiff).
        trigger: args.runId,
        name: undefined,
        location: undefined,
        bytes: undefined,
        sha256: undefined,
        tables: undefined,
        seconds: undefined,
      },
      opts,
      "database",
      "Backup",
    );
  }
}

export class DatabaseBackup extends pulumi.ComponentResource {
  public readonly dump: DatabaseBackupDump;
  public readonly location: pulumi.Output<string>;
  public readonly bytes: pulumi.Output<number>;
  public readonly sha256: pulumi.Output<string>;

  constructor(name: string, args: DatabaseBackupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tines-maintenance:index:DatabaseBackup", name, {}, opts);
    this.dump = new DatabaseBackupDump(name, args, { parent: this });
    this.location = this.dump.location;
    this.bytes = this.dump.bytes;
    this.sha256 = this.dump.sha256;
    this.registerOutputs({ location: this.location, bytes: this.bytes, sha256: this.sha256 });
  }
}
