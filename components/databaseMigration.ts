/**
 * Copy of the database to a new instance (Pulumi name `database-migration`), at the end
 * of a shutdown with every service down but postgres. Refuses with a RunError (no stack
 * trace) before registering anything when that does not hold. Outputs: the comparison summary, no secrets.
 */
import * as pulumi from "@pulumi/pulumi";
import type { CoreConfig } from "../lib/config";
import { assertMigrationPreconditions, type MigrationConfig } from "../lib/database/config";
import { isMaintenanceError } from "../lib/errors";
import { databaseMigrationProvider } from "./providers/databaseMigrationProvider";

export interface DatabaseMigrationArgs {
  /** `database.url` (the current instance); wrapped as a secret here. */
  sourceUrl: pulumi.Input<string>;
  /** `database.migration`; its targetUrl is wrapped as a secret here. */
  migration: MigrationConfig;
  /** The validated core config: phase, services and keepRunning decide whether this may run. */
  core: Pick<CoreConfig, "phase" | "services" | "keepRunning">;
}

export class DatabaseCopy extends pulumi.dynamic.Resource {
  declare public readonly target: pulumi.Output<string>;
  declare public readonly tables: pulumi.Output<number>;
  declare public readonly rows: pulumi.Output<string>;
  declare public readonly mismatches: pulumi.Output<number>;
  declare public readonly summary: pulumi.Output<string>;
  declare public readonly seconds: pulumi.Output<{
    dump: number;
    restore: number;
    verify: number;
    total: number;
  }>;

  constructor(name: string, args: DatabaseMigrationArgs, opts?: pulumi.CustomResourceOptions) {
    const m = args.migration;
    super(
      databaseMigrationProvider,
      name,
      {
        sourceUrl: pulumi.secret(args.sourceUrl),
        targetUrl: pulumi.secret(m.targetUrl),
        jobs: m.jobs ?? 0,
        allowNonEmptyTarget: m.allowNonEmptyTarget,
        noOwner: m.noOwner,
        checksumMaxTableMiB: m.checksumMaxTableMiB,
        // Never re-run by itself: copying again needs a new target (migrationDiff).
        trigger: "",
        target: undefined,
        tables: undefined,
        rows: undefined,
        mismatches: undefined,
        summary: undefined,
        seconds: undefined,
      },
      opts,
      "database",
      "Migration",
    );
  }
}

export class DatabaseMigration extends pulumi.ComponentResource {
  public readonly copy: DatabaseCopy;
  public readonly tables: pulumi.Output<number>;
  public readonly rows: pulumi.Output<string>;
  public readonly mismatches: pulumi.Output<number>;
  public readonly summary: pulumi.Output<string>;

  constructor(name: string, args: DatabaseMigrationArgs, opts?: pulumi.ComponentResourceOptions) {
    // Before super, so that a refusal registers nothing; as a RunError, so that Pulumi
    // prints the message alone, without a stack trace.
    try {
      assertMigrationPreconditions(args.core);
    } catch (error) {
      if (isMaintenanceError(error)) throw new pulumi.RunError(error.message);
      throw error;
    }
    super("tines-maintenance:index:DatabaseMigration", name, {}, opts);
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
