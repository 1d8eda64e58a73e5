/**
 * `database-migration`'s dynamic resource and its provider: `create` (and `update` with a
 * new target) copies the database to the new instance and fails the update on any
 * verification mismatch. `check` and `diff` touch nothing.
 */
import * as pulumi from "@pulumi/pulumi";
import type { MigrationConfig } from "../../lib/database/config";
import { checkMigrationInputs, migrationDiff, runMigrationGate } from "../../lib/database/gates";
import { DYNAMIC_TYPES } from "../../lib/names";
import { gateProvider } from "./gateProvider";
import { MaintenanceResource } from "./maintenanceResource";

export const databaseMigrationProvider = gateProvider({
  check: checkMigrationInputs,
  diff: migrationDiff,
  run: runMigrationGate,
  id: (outs) => `database-migration-${Date.parse(outs.finishedAt)}`,
  keptOnDelete: "The new instance now holds the data Tines will use: never drop it.",
});

export interface DatabaseCopyArgs {
  /** `database.url` (the current instance); wrapped as a secret here. */
  sourceUrl: pulumi.Input<string>;
  /** `database.migration`; its targetUrl is wrapped as a secret here. */
  migration: MigrationConfig;
  /** The stack, in the mark the copy leaves on the target (lib/database/targetMarker.ts). */
  stack: string;
  /** The window record's windowStartedAt: a rerun in the same window restarts its own interrupted copy. */
  windowStartedAt: pulumi.Input<string>;
}

export class DatabaseCopy extends MaintenanceResource {
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

  constructor(name: string, args: DatabaseCopyArgs, opts?: pulumi.CustomResourceOptions) {
    const m = args.migration;
    super(
      databaseMigrationProvider,
      DYNAMIC_TYPES.databaseMigration,
      name,
      {
        sourceUrl: pulumi.secret(args.sourceUrl),
        targetUrl: pulumi.secret(m.targetUrl),
        jobs: m.jobs ?? 0,
        allowNonEmptyTarget: m.allowNonEmptyTarget,
        noOwner: m.noOwner,
        checksumMaxTableMiB: m.checksumMaxTableMiB,
        // Never re-run by itself: copying again needs a new target (migrationDiff). Kept as
        // the constant it always was, so that the inputs in existing stacks do not change.
        trigger: "",
        stack: args.stack,
        windowStartedAt: args.windowStartedAt,
      },
      ["target", "tables", "rows", "mismatches", "summary", "seconds"],
      opts,
    );
  }
}
