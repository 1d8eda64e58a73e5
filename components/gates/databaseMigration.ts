/**
 * Copy of the database to a new instance (Pulumi name `database-migration`), at the end
 * of a shutdown with every service down but postgres (config validation refuses a migration
 * otherwise, before anything is registered). Outputs: the comparison summary, no secrets.
 */
import * as pulumi from "@pulumi/pulumi";
import { COMPONENT_TYPES } from "../../lib/plan/names";
import { DatabaseCopy, type DatabaseCopyArgs } from "./databaseMigrationResource";

export type DatabaseMigrationArgs = DatabaseCopyArgs;

export class DatabaseMigration extends pulumi.ComponentResource {
  public readonly copy: DatabaseCopy;
  public readonly tables: pulumi.Output<number>;
  public readonly rows: pulumi.Output<string>;
  public readonly mismatches: pulumi.Output<number>;
  public readonly summary: pulumi.Output<string>;

  constructor(name: string, args: DatabaseMigrationArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TYPES.databaseMigration, name, {}, opts);
    this.copy = new DatabaseCopy(name, args, { parent: this });
    this.tables = this.copy.tables;
    this.rows = this.copy.rows;
    this.mismatches = this.copy.mismatches;
    this.summary = this.copy.summary;
    this.registerOutputs({
      tables: this.tables,
      rows: this.rows,
      mismatches: this.mismatches,
      summary: this.summary,
    });
  }
}
