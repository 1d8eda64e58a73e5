/**
 * The presync of a database move (`database-presync`), registered in every phase while
 * `database.migration.presync` is true, so that its state carries from the set-up to the
 * window and to the startup after it (lib/database/presyncGates.ts):
 *  - running, first: the copy into the target and the logical replication that keeps it
 *    current, while Tines runs; the update returns once it streams. `pulumi refresh` reads the lag;
 *  - shutdown: it stands, so that the migration step's cut-over (which depends on it) finds it;
 *  - running after the window: a replication slot of ours still on the source is refused
 *    (at preview already), before anything starts;
 *  - deleted (presync false, `pulumi destroy`, a new target): the subscription, the slot and
 *    the publication go, and the copy with them while it is only a copy; a copy that was cut
 *    over (the live database now) is never dropped.
 * `check` and `diff` only read. Outputs: the lag and the copy's totals; the URLs stay secrets.
 */
import * as pulumi from "@pulumi/pulumi";
import type { DatabaseConfig, MigrationConfig } from "../../lib/database/config";
import {
  applyPresyncResource,
  checkPresyncInputs,
  precheckPresyncResource,
  presyncResourceDiff,
  readPresyncGate,
  removePresyncGate,
  type PresyncResourceInputs,
  type PresyncResourceState,
} from "../../lib/database/presyncGates";
import { oneOfFailure } from "../../lib/config/validation";
import { isMaintenanceError, oneLine } from "../../lib/errors";
import { GATE_TYPES } from "../../lib/plan/names";
import { defineProvider, dynamicResource, type ProviderContext } from "../provider/defineProvider";
import { defineGate, outputsOf, type GateContext } from "./gate";

const TYPES = GATE_TYPES["database-presync"];

export const databasePresyncProvider = defineProvider({
  type: TYPES.resources.presync,
  outputs: [
    "source",
    "target",
    "name",
    "tables",
    "rows",
    "bytes",
    "copySeconds",
    "state",
    "lagBytes",
    "lagSeconds",
    "retainedBytes",
    "applyErrors",
    "readAt",
  ],
  secretOutputs: ["sourceUrl", "targetUrl"],
  async check(news, olds) {
    const failures = [...checkPresyncInputs(news), ...oneOfFailure(news, "phase", ["running", "shutdown"])];
    if (failures.length > 0) return failures;
    try {
      const problems = await precheckPresyncResource(
        news as unknown as PresyncResourceInputs,
        olds as Partial<PresyncResourceInputs>,
      );
      return problems.map((reason) => ({ property: "", reason: `database-presync: ${reason}` }));
    } catch (error) {
      return [
        {
          property: "",
          reason: isMaintenanceError(error)
            ? `database-presync: refused, nothing was changed: ${oneLine(error)}`
            : `database-presync: the check failed, nothing was changed: ${oneLine(error)}`,
        },
      ];
    }
  },
  diff: presyncResourceDiff,
  create: (inputs: PresyncResourceInputs, { reporter, signal }: ProviderContext) =>
    applyPresyncResource(undefined, inputs, reporter, { signal }),
  id: (outs) => `database-presync-${outs.name}`,
  update: (olds: PresyncResourceState, news: PresyncResourceInputs, { reporter, signal }: ProviderContext) =>
    applyPresyncResource(olds, news, reporter, { signal }),
  read: async (_id, props) => ({ props: { ...props, ...(await readPresyncGate(props, props)) } }),
  delete: (_id, props, { reporter }) => removePresyncGate(props, reporter),
});

export class DatabasePresyncResource extends dynamicResource(databasePresyncProvider) {}

export interface DatabasePresyncArgs {
  /** `database.url` (the current instance, the replication's source); wrapped as a secret here. */
  sourceUrl: pulumi.Input<string>;
  /** `database.migration`; its targetUrl is wrapped as a secret here. */
  migration: MigrationConfig;
  /** The stack, in the mark the presync leaves on the target (lib/database/targetMarker.ts). */
  stack: string;
  /** The update's phase: the resource sets up in running and only stands in shutdown. */
  phase: "running" | "shutdown";
}

export class DatabasePresync extends pulumi.ComponentResource {
  public readonly resource: DatabasePresyncResource;

  constructor(name: string, args: DatabasePresyncArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TYPES.component, name, {}, opts);
    const m = args.migration;
    this.resource = new DatabasePresyncResource(
      name,
      {
        sourceUrl: pulumi.secret(args.sourceUrl),
        targetUrl: pulumi.secret(m.targetUrl),
        stack: args.stack,
        jobs: m.jobs ?? 0,
        noOwner: m.noOwner,
        checksumMaxTableMiB: m.checksumMaxTableMiB,
        catchUpTimeoutSeconds: m.catchUpTimeoutSeconds,
        // Set up once; a new one: presync false, then true (or a new target, which replaces it).
        trigger: "",
        phase: args.phase,
      },
      { parent: this },
    );
    this.registerOutputs(
      outputsOf(this.resource, ["name", "state", "lagBytes", "lagSeconds", "tables", "rows", "copySeconds"]),
    );
  }
}

function register(
  database: DatabaseConfig,
  migration: MigrationConfig,
  context: GateContext,
  opts: pulumi.ComponentResourceOptions,
) {
  return new DatabasePresync(
    NAME,
    {
      sourceUrl: pulumi.secret(database.url),
      migration,
      stack: context.maintenance.stack,
      phase: context.plan.phase,
    },
    opts,
  );
}

const NAME = "database-presync";

export const databasePresyncGate = defineGate(NAME, {
  register: ({ database, migration }, context, opts) => register(database, migration, context, opts),
  // In shutdown the plan has no step for it: it stands ahead of the steps, so that its state
  // carries to the startup and the migration step's cut-over depends on it.
  standing: (context, opts) => {
    const database = context.config.database;
    return context.plan.phase === "shutdown" && database?.migration?.presync
      ? register(database, database.migration, context, opts)
      : undefined;
  },
  audit: ({ resource }) => ({
    databasePresync: outputsOf(resource, ["target", "name", "state", "lagBytes", "lagSeconds", "rows"]),
  }),
});
