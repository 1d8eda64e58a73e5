/**
 * Copy of the database to a new instance (`database-migration`), at the end of a shutdown with
 * every service down but postgres (config validation refuses a migration otherwise, before
 * anything is registered): `create` (and `update` with a new target) copies and fails the
 * update on any verification mismatch. With `database.migration.presync` the step cuts over
 * to the presynced copy instead (`database:Cutover`, depending on the `database-presync`
 * resource): catch up, remove the replication, set the sequences, verify; a difference fails
 * it before the endpoint switch, the old database still the live one. `check` and `diff`
 * only read. Outputs: the comparison summary, no secrets.
 */
import * as pulumi from "@pulumi/pulumi";
import type { MigrationConfig } from "../../lib/database/config";
import {
  checkMigrationInputs,
  migrationDiff,
  runMigrationGate,
  type MigrationGateInputs,
} from "../../lib/database/gates";
import { precheckPresyncGate, runCutoverGate, type CutoverGateInputs } from "../../lib/database/presyncGates";
import { isMaintenanceError, oneLine } from "../../lib/errors";
import { GATE_TYPES } from "../../lib/plan/names";
import { defineProvider, dynamicResource, type ProviderContext } from "../provider/defineProvider";
import { DatabasePresync } from "./databasePresync";
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

/**
 * The cut-over to a presynced copy. `check` runs the cut-over's read-only refusals (not a
 * presync copy of this stack, DDL on the source since the set-up), at preview before anything stops.
 */
export const databaseCutoverProvider = defineProvider({
  type: TYPES.resources.cutover,
  outputs: ["target", "tables", "rows", "mismatches", "summary", "seconds", "verification", "cutover"],
  async check(news) {
    const failures = checkMigrationInputs(news);
    if (failures.length > 0) return failures;
    const inputs = news as unknown as CutoverGateInputs;
    try {
      const { problems } = await precheckPresyncGate(
        {
          sourceUrl: inputs.sourceUrl,
          targetUrl: inputs.targetUrl,
          stack: inputs.stack,
          noOwner: inputs.noOwner,
        },
        "cutover",
      );
      return problems.map((reason) => ({
        property: "",
        reason: `database-migration: cut-over refused: ${reason}`,
      }));
    } catch (error) {
      return [
        {
          property: "",
          reason: isMaintenanceError(error)
            ? `database-migration: refused, nothing was changed: ${oneLine(error)}`
            : `database-migration: the cut-over's check failed, nothing was changed: ${oneLine(error)}`,
        },
      ];
    }
  },
  diff: migrationDiff,
  create: (inputs: CutoverGateInputs, { reporter, signal }: ProviderContext) =>
    runCutoverGate(inputs, reporter, { signal }),
  id: (outs) => `database-cutover-${Date.parse(outs.finishedAt)}`,
  delete: "The new instance now holds the data Tines will use: never drop it.",
});

export class DatabaseCutoverResource extends dynamicResource(databaseCutoverProvider) {}

export interface DatabaseMigrationArgs {
  /** `database.url` (the current instance); wrapped as a secret here. */
  sourceUrl: pulumi.Input<string>;
  /** `database.migration`; its targetUrl is wrapped as a secret here. */
  migration: MigrationConfig;
  /** The stack, in the mark the copy leaves on the target (lib/database/targetMarker.ts). */
  stack: string;
  /** The window record's windowStartedAt: a rerun in the same window restarts its own interrupted copy. */
  windowStartedAt: pulumi.Input<string>;
  /** With `migration.presync`: the presync resource the cut-over finishes (it runs after it). */
  presync?: DatabasePresync;
}

export class DatabaseMigration extends pulumi.ComponentResource {
  public readonly resource: DatabaseMigrationResource | DatabaseCutoverResource;

  constructor(name: string, args: DatabaseMigrationArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TYPES.component, name, {}, opts);
    const m = args.migration;
    const inputs = {
      sourceUrl: pulumi.secret(args.sourceUrl),
      targetUrl: pulumi.secret(m.targetUrl),
      jobs: m.jobs ?? 0,
      noOwner: m.noOwner,
      checksumMaxTableMiB: m.checksumMaxTableMiB,
      // Never re-run by itself: copying again needs a new target (migrationDiff). Kept as
      // the constant it always was, so that the inputs in existing stacks do not change.
      trigger: "",
      stack: args.stack,
      windowStartedAt: args.windowStartedAt,
    };
    this.resource = m.presync
      ? new DatabaseCutoverResource(
          name,
          { ...inputs, allowNonEmptyTarget: false, catchUpTimeoutSeconds: m.catchUpTimeoutSeconds },
          { parent: this, dependsOn: args.presync ? [args.presync] : [] },
        )
      : new DatabaseMigrationResource(
          name,
          { ...inputs, allowNonEmptyTarget: m.allowNonEmptyTarget },
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
        presync: registered("database-presync", DatabasePresync),
      },
      opts,
    ),
  audit: ({ resource }) => ({ databaseMigration: outputsOf(resource, ["tables", "mismatches", "summary"]) }),
});
