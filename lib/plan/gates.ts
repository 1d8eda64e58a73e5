/**
 * The gates: steps of the plan that check or do one thing and record what they saw. Each is one
 * entry of GATE_DEFINITIONS: its name, what `maint plan` says it does, where the plan puts it in
 * each phase, the config it runs on and its type tokens. The plan (./plan.ts), the names
 * (./names.ts), the program (components/gates) and the `plan` CLI all read this one list.
 */
import type { StackConfig } from "../config/stackConfig";
import type { DatabaseConfig, MigrationConfig } from "../database/config";
import type { HealthConfig } from "../health/config";
import type { SidekiqConfig } from "../sidekiq/config";
import type { WindowSettings } from "../window/record";
import type { Phase, ServiceKey } from "./services";
import type { ServiceStep } from "./plan";

/**
 * Where a gate goes among the service steps of a phase:
 *  - `start`: before everything else;
 *  - `firstService`: right before the first service step (or the gate placed right before it);
 *  - `{ before: key }` / `{ after: key }`: right before / after that service's step;
 *  - `betweenTiers`: where the application tier is down and the data stores are up (after the
 *    application tier in shutdown, before it in running);
 *  - `end`: after everything else.
 * Gates at the same place run in the order of GATE_DEFINITIONS.
 */
export type Anchor =
  "start" | "firstService" | "betweenTiers" | "end" | { before: ServiceKey } | { after: ServiceKey };

/** The config a plan is built from: the core keys and any sections (lib/config/stackConfig.ts). */
export type PlanConfig = Omit<StackConfig, "versionGuard"> & Partial<Pick<StackConfig, "versionGuard">>;

/** What a gate's `step` may ask of the plan it is placed in. */
export interface PlanContext {
  phase: Phase;
  /** The service's step in this plan, if the service is listed. */
  service(key: ServiceKey): ServiceStep | undefined;
}

export interface GateDefinition<N extends string = string, S extends object = object> {
  /** The Pulumi resource name of the step's component and resource. */
  name: N;
  /** What the step does, one line, as `maint plan` prints it. */
  description: string;
  /** The phases the gate runs in, where, and (when it differs) what it does there. */
  phases: { [P in Phase]?: { at: Anchor; description?: string } };
  /**
   * The config section the step runs on, from the validated stack config; undefined leaves
   * the gate out of this plan. Secrets are in here: print a step's name and description only.
   */
  step(config: PlanConfig, plan: PlanContext): S | undefined;
  /**
   * The type names its component and dynamic resources are registered under (lib/plan/names.ts
   * builds the tokens). A type token is part of every URN a stack holds: never change one.
   */
  types: { component: string; resources: Record<string, { module: string; type: string }> };
}

function defineGate<const N extends string, S extends object>(definition: GateDefinition<N, S>) {
  return definition;
}

/** The Sidekiq gates run when this shutdown stops tines-sidekiq (and so reads its queues). */
function sidekiqStops(config: PlanConfig, plan: PlanContext): SidekiqConfig | undefined {
  return plan.phase === "shutdown" && plan.service("tines-sidekiq")?.targetCount === 0
    ? config.sidekiq
    : undefined;
}

/**
 * What this shutdown does with Sidekiq's held jobs (scheduled, retries, dead, queued) when it
 * moves REDIS_URL (`endpoints.redisUrl`): `sidekiq.onRedisSwitch`, or "" when Redis does not
 * move. Whether both URLs reach one Redis is decided by the servers at run time, not here (the
 * plan CLI sees only placeholders for secrets).
 */
export function redisSwitchOf(config: PlanConfig, plan: PlanContext): SidekiqConfig["onRedisSwitch"] | "" {
  const sidekiq = sidekiqStops(config, plan);
  return sidekiq && config.endpoints?.redisUrl !== undefined ? sidekiq.onRedisSwitch : "";
}

/** The pre-flight and the drain: Sidekiq's queues read, and what the shutdown does with its held jobs. */
function sidekiqRead(
  config: PlanConfig,
  plan: PlanContext,
): { sidekiq: SidekiqConfig; redisSwitch: SidekiqConfig["onRedisSwitch"] | "" } | undefined {
  const sidekiq = sidekiqStops(config, plan);
  return sidekiq && { sidekiq, redisSwitch: redisSwitchOf(config, plan) };
}

/** The carry runs in a shutdown that stops Sidekiq and moves REDIS_URL: from `sidekiq.redisUrl` to `newRedisUrl`. */
function redisMoves(
  config: PlanConfig,
  plan: PlanContext,
): { sidekiq: SidekiqConfig; newRedisUrl: string } | undefined {
  const sidekiq = sidekiqStops(config, plan);
  const newRedisUrl = config.endpoints?.redisUrl;
  return sidekiq && newRedisUrl !== undefined ? { sidekiq, newRedisUrl } : undefined;
}

function backupTaken(config: PlanConfig, plan: PlanContext): DatabaseConfig | undefined {
  return plan.phase === "shutdown" && config.database?.backup.enabled ? config.database : undefined;
}

function migrated(
  config: PlanConfig,
  plan: PlanContext,
): { database: DatabaseConfig; migration: MigrationConfig } | undefined {
  const database = config.database;
  return plan.phase === "shutdown" && database?.migration
    ? { database, migration: database.migration }
    : undefined;
}

/** The gates, in the runbook's order; gates placed at the same place run in this order. */
export const GATE_DEFINITIONS = [
  defineGate({
    name: "sidekiq-preflight",
    description: "sample the Sidekiq queue; warn or refuse if it is non-zero and not falling",
    phases: { shutdown: { at: "start" } },
    step: sidekiqRead,
    types: { component: "SidekiqPreflight", resources: { check: { module: "sidekiq", type: "Preflight" } } },
  }),
  defineGate({
    name: "maintenance-window",
    description:
      "record the Tines versions and the first stop; refuse settings that point where the last endpoint switch moved Tines away from",
    phases: {
      // Right before the first stop: its time opens the downtime record.
      shutdown: { at: "firstService" },
      running: {
        at: "start",
        description:
          "refuse to start anything if a Tines version changed during the window (unless versionGuard.allowChange)",
      },
    },
    step: (config, plan): { allowVersionChange: boolean; settings: WindowSettings } | undefined =>
      config.versionGuard && {
        allowVersionChange: config.versionGuard.allowChange,
        // The URLs this update's gates use, checked against the last endpoint switch.
        settings: {
          sidekiqRedisUrl: sidekiqStops(config, plan)?.redisUrl,
          databaseUrl: (backupTaken(config, plan) ?? migrated(config, plan)?.database)?.url,
          // The migration target is checked in both phases.
          migrationTargetUrl: config.database?.migration?.targetUrl,
          allowNonEmptyTarget: config.database?.migration?.allowNonEmptyTarget,
        },
      },
    types: { component: "MaintenanceWindow", resources: { record: { module: "window", type: "Record" } } },
  }),
  defineGate({
    name: "sidekiq-drain",
    description: "wait until the Sidekiq queue is near 0 and not increasing, with no job in flight",
    phases: { shutdown: { at: { before: "tines-sidekiq" } } },
    step: sidekiqRead,
    types: { component: "SidekiqDrainGate", resources: { drain: { module: "sidekiq", type: "DrainGate" } } },
  }),
  defineGate({
    name: "sidekiq-carry",
    description:
      "copy Sidekiq's scheduled jobs, retries, dead jobs and queues to the new Redis and verify them (sidekiq.onRedisSwitch)",
    // Once the last writer of Sidekiq's keys (the command runner enqueues too) is down, before
    // the backup (which may take long) and before any data store, Redis included, goes down.
    phases: { shutdown: { at: { after: "tines-command-runner" } } },
    step: redisMoves,
    types: { component: "SidekiqCarry", resources: { carry: { module: "sidekiq", type: "Carry" } } },
  }),
  defineGate({
    name: "database-backup",
    description: "dump the database before any data store goes down",
    // Taken once nothing writes to the database any more, and before any data store changes.
    phases: { shutdown: { at: "betweenTiers" } },
    step: (config, plan) => {
      const database = backupTaken(config, plan);
      return database && { database };
    },
    types: { component: "DatabaseBackup", resources: { dump: { module: "database", type: "Backup" } } },
  }),
  defineGate({
    name: "database-migration",
    description: "copy the database to the new instance and verify the copy",
    phases: { shutdown: { at: "end" } },
    step: migrated,
    types: {
      component: "DatabaseMigration",
      resources: {
        copy: { module: "database", type: "Migration" },
        // With database.migration.presync: the catch-up, teardown and verification instead of the copy.
        cutover: { module: "database", type: "Cutover" },
      },
    },
  }),
  defineGate({
    name: "database-presync",
    description:
      "with database.migration.presync: copy ahead while Tines runs and keep the copy current by logical replication",
    // First in running: the startup after a window refuses a replication slot of ours left on
    // the source before anything starts. The set-up itself runs with Tines up (services at
    // their counts already); in shutdown the resource stands so that the cut-over finds it.
    phases: { running: { at: "start" } },
    step: (config, plan): { database: DatabaseConfig; migration: MigrationConfig } | undefined => {
      const database = config.database;
      return plan.phase === "running" && database?.migration?.presync
        ? { database, migration: database.migration }
        : undefined;
    },
    types: { component: "DatabasePresync", resources: { presync: { module: "database", type: "Presync" } } },
  }),
  defineGate({
    name: "endpoint-switch",
    description: "write the new DATABASE_HOST / REDIS_URL where the platform keeps them",
    phases: { shutdown: { at: "end" } },
    step: (config) => config.endpoints && { endpoints: config.endpoints },
    types: { component: "EndpointSwitch", resources: { switch: { module: "endpoints", type: "Switch" } } },
  }),
  defineGate({
    name: "endpoint-propagation",
    description: "check the new endpoints resolve and accept connections before anything starts",
    phases: { running: { at: "start" } },
    step: (config) => config.endpoints && { endpoints: config.endpoints },
    types: {
      component: "EndpointPropagationGate",
      resources: { check: { module: "endpoints", type: "Propagation" } },
    },
  }),
  defineGate({
    name: "tines-health",
    description: "wait until Tines reports healthy (PostgreSQL, Redis and a Sidekiq process reachable)",
    phases: { running: { at: "end" } },
    step: (config): { health: HealthConfig } | undefined => config.health && { health: config.health },
    types: { component: "TinesHealthGate", resources: { check: { module: "tines", type: "Health" } } },
  }),
] as const;

type Definition = (typeof GATE_DEFINITIONS)[number];

export type GateName = Definition["name"];

export const GATE_NAMES: readonly GateName[] = GATE_DEFINITIONS.map((gate) => gate.name);

type StepOf<D> =
  D extends GateDefinition<infer N, infer S> ? { type: "gate"; name: N; description: string } & S : never;

/**
 * A gate step, with the config section it runs on: the program registers it from the step
 * alone. Secrets (URLs) are in here: print a step's name and description, never the step.
 */
export type GateStep = StepOf<Definition>;

/** The step of one gate. */
export type GateStepOf<N extends GateName> = Extract<GateStep, { name: N }>;

/** The definition of one gate. */
export type GateDefinitionOf<N extends GateName> = Extract<Definition, { name: N }>;

export function gateDefinition<N extends GateName>(name: N): GateDefinitionOf<N> {
  return GATE_DEFINITIONS.find((gate) => gate.name === name) as GateDefinitionOf<N>;
}
