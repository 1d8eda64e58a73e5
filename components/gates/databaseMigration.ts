/**
 * Copy of the database to a new instance (`database-migration`), at the end of a shutdown with
 * every service down but postgres (config validation refuses a migration otherwise, before
 * anything is registered): `create` (and `update` with a new target) copies and fails the
 * update on any verification mismatch. `check` and `diff` touch nothing. Outputs: the
 * comparison summary, no secrets.
 */
import * as pulumi from "@pulumi/pulumi";
import type { MigrationConfig } from "../../lib/database/config";
import {
  checkMigrationInputs,
  migrationDiff,
  runMigrationGate,
  type MigrationGateInputs,
} from "../../lib/database/gates";
import { GATE_TYPES } from "../../lib/plan/names";
import { defineProvider, dynamicResource, type ProviderContext } from "../provider/defineProvider";
import { defineGate, outputsOf } from "./gate";
import { windowStartedAt } from "./maintenanceWindow";

const TYPES = GATE_TYPES["database-migration"];

export const databaseMigrationProvider = defineProvider({
  type: TYPES.resources.copy,
  outputs: ["target", "tables", "rows", "mismatches", "summary", "seconds"],
  check: checkMigrationInputs,
  diff: migrationDiff,
  create: (inputs: MigrationGateInputs, { reporter, signal }: ProviderContext) =>
    runMigrationGate(inputs, reporter, { signal }),
  id: (outs) => `database-migration-${Date.parse(outs.finishedAt)}`,
  delete: "The new instance now holds the data Tines will use: never drop it.",
});

export class DatabaseMigrationResource extends dynamicResource(databaseMigrationProvider) {}

export interface DatabaseMigrationArgs {
  /** `database.url` (the current instance); wrapped as a secret here. */
  sourceUrl: pulumi.Input<string>;
  /** `database.migration`; its targetUrl is wrapped as a secret here. */
  migration: MigrationConfig;
  /** The stack, in the mark the copy leaves on the target (lib/database/targetMarker.ts). */
  stack: string;
  /** The window record's windowStartedAt: a rerun in the same window restarts its own interrupted copy. */
  windowStartedAt: pulumi.Input<string>;
}

export class DatabaseMigration extends pulumi.ComponentResource {
  public readonly resource: DatabaseMigrationResource;

  constructor(name: string, args: DatabaseMigrationArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TYPES.component, name, {}, opts);
    const m = args.migration;
    this.resource = new DatabaseMigrationResource(
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
      { parent: this },
    );
    this.registerOutputs(outputsOf(this.resource, ["tables", "rows", "mismatches", "summary"]));
  }
}

export const databaseMigrationGate = defineGate("database-migration", {
  register: ({ name, database, migration }, { maintenance, registered }, opts) =>
    new DatabaseMigration(
      name,
      {
        sourceUrl: pulumi.secret(database.url),
        migration,
        stack: maintenance.stack,
        windowStartedAt: windowStartedAt(name, registered),
      },
      opts,
    ),
  audit: ({ resource }) => ({ databaseMigration: outputsOf(resource, ["tables", "mismatches", "summary"]) }),
});
