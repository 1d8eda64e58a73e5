/**
 * The backup before any database work (`database-backup`): taken once the application tier is
 * down and before redis/postgres change; `create` (and `update` with a new run id or
 * destination) dumps the database and records where, how big and its sha256. The URL stays a
 * secret input and never comes back. `check` and `diff` touch nothing. An S3 upload uses the
 * stack's `aws:*` settings.
 */
import * as pulumi from "@pulumi/pulumi";
import type { BackupConfig } from "../../lib/database/config";
import {
  backupDiff,
  checkBackupInputs,
  runBackupGate,
  type BackupGateInputs,
} from "../../lib/database/gates";
import { GATE_TYPES } from "../../lib/plan/names";
import { defineProvider, dynamicResource, type ProviderContext } from "../provider/defineProvider";
import { defineGate, outputsOf, type PerUpdateGateArgs } from "./gate";
import { windowStartedAt } from "./maintenanceWindow";

const TYPES = GATE_TYPES["database-backup"];

export const databaseBackupProvider = defineProvider(
  {
    type: TYPES.resources.dump,
    outputs: ["name", "location", "bytes", "sha256", "tables", "seconds", "reused"],
    check: checkBackupInputs,
    diff: backupDiff,
    create: (inputs: BackupGateInputs, { reporter, aws, signal }: ProviderContext) =>
      runBackupGate(inputs, reporter, aws, { signal }),
    // A retry in the same window reuses the earlier update's dump when it still is the database.
    update: async (olds, news, { reporter, aws, signal }) =>
      backupDiff(olds as unknown as Record<string, unknown>, news as unknown as Record<string, unknown>)
        .changes
        ? runBackupGate(news, reporter, aws, { signal, previous: olds as unknown as Record<string, unknown> })
        : olds,
    id: (outs) => `database-backup-${outs.sha256.slice(0, 16)}`,
    delete: "The dump stays where it was written: removing the resource must not remove a backup.",
  },
  { aws: true },
);

export class DatabaseBackupResource extends dynamicResource(databaseBackupProvider) {}

/** `runId`: a dump holds only for the update that took it, once the application tier was down. */
export interface DatabaseBackupArgs extends PerUpdateGateArgs {
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

/** What the component registers and the audit record shows. */
const AUDITED = ["location", "bytes", "sha256", "reused"] as const;

export class DatabaseBackup extends pulumi.ComponentResource {
  public readonly resource: DatabaseBackupResource;

  constructor(name: string, args: DatabaseBackupArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TYPES.component, name, {}, opts);
    const b = args.backup;
    this.resource = new DatabaseBackupResource(
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
      { parent: this },
    );
    this.registerOutputs(outputsOf(this.resource, AUDITED));
  }
}

export const databaseBackupGate = defineGate("database-backup", {
  register: ({ name, database }, { maintenance, plan, registered }, opts) =>
    new DatabaseBackup(
      name,
      {
        url: pulumi.secret(database.url),
        backup: database.backup,
        stack: maintenance.stack,
        phase: plan.phase,
        runId: maintenance.startedAt,
        windowStartedAt: windowStartedAt(name, registered),
      },
      opts,
    ),
  audit: ({ resource }) => ({ databaseBackup: outputsOf(resource, AUDITED) }),
});
