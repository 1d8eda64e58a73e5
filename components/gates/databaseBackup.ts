/**
 * The backup before any database work (Pulumi name `database-backup`): taken once the
 * application tier is down and before redis/postgres change. Its outputs say where the
 * dump is, how big, and its sha256; the URL stays a secret input and never comes back.
 */
import * as pulumi from "@pulumi/pulumi";
import { COMPONENT_TYPES } from "../../lib/plan/names";
import { DatabaseBackupDump, type DatabaseBackupDumpArgs } from "./databaseBackupResource";

export type DatabaseBackupArgs = DatabaseBackupDumpArgs;

export class DatabaseBackup extends pulumi.ComponentResource {
  public readonly dump: DatabaseBackupDump;
  public readonly location: pulumi.Output<string>;
  public readonly bytes: pulumi.Output<number>;
  public readonly sha256: pulumi.Output<string>;

  constructor(name: string, args: DatabaseBackupArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TYPES.databaseBackup, name, {}, opts);
    this.dump = new DatabaseBackupDump(name, args, { parent: this });
    this.location = this.dump.location;
    this.bytes = this.dump.bytes;
    this.sha256 = this.dump.sha256;
    this.registerOutputs({ location: this.location, bytes: this.bytes, sha256: this.sha256 });
  }
}
