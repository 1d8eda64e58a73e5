/**
 * `database-backup`'s dynamic resource and its provider: `create` (and `update` with a new
 * run id or destination) dumps the database and records where, how big and its sha256.
 * `check` and `diff` touch nothing. An S3 upload uses the stack's `aws:*` settings.
 */
import * as pulumi from "@pulumi/pulumi";
import type { BackupConfig } from "../../lib/database/config";
import { backupDiff, checkBackupInputs, runBackupGate } from "../../lib/database/gates";
import { DYNAMIC_TYPES } from "../../lib/names";
import { withAwsSettings } from "./awsSettings";
import { gateProvider } from "./gateProvider";
import { type PerUpdateGateArgs } from "./gateOptions";
import { MaintenanceResource } from "./maintenanceResource";

export const databaseBackupProvider: pulumi.dynamic.ResourceProvider = withAwsSettings((aws) =>
  gateProvider({
    check: checkBackupInputs,
    diff: backupDiff,
    run: (inputs: Parameters<typeof runBackupGate>[0], reporter, options) =>
      runBackupGate(inputs, reporter, aws(), options),
    id: (outs) => `database-backup-${outs.sha256.slice(0, 16)}`,
    keptOnDelete: "The dump stays where it was written: removing the resource must not remove a backup.",
  }),
);

/** `runId`: a dump holds only for the update that took it, once the application tier was down. */
export interface DatabaseBackupDumpArgs extends PerUpdateGateArgs {
  /** `database.url`; wrapped as a secret here whatever the caller passes. */
  url: pulumi.Input<string>;
  /** `database.backup`: where the dump goes and how it is compressed. */
  backup: BackupConfig;
  /** The stack and phase, in the dump's file name. */
  stack: string;
  phase: string;
  /** The window record's windowStartedAt: a retry in the same window reuses a verified dump. */
  windowStartedAt: pulumi.Input<string>;
}

export class DatabaseBackupDump extends MaintenanceResource {
  declare public readonly name: pulumi.Output<string>;
  declare public readonly location: pulumi.Output<string>;
  declare public readonly bytes: pulumi.Output<number>;
  declare public readonly sha256: pulumi.Output<string>;
  declare public readonly tables: pulumi.Output<number>;
  declare public readonly seconds: pulumi.Output<number>;
  declare public readonly reused: pulumi.Output<boolean>;

  constructor(name: string, args: DatabaseBackupDumpArgs, opts?: pulumi.CustomResourceOptions) {
    const b = args.backup;
    super(
      databaseBackupProvider,
      DYNAMIC_TYPES.databaseBackup,
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
        windowStartedAt: args.windowStartedAt,
      },
      ["name", "location", "bytes", "sha256", "tables", "seconds", "reused"],
      opts,
    );
  }
}
