/**
 * The plan: which steps a `pulumi up` takes, in which order, at which counts. A pure
 * function of the validated config, shared by the program (which turns each step into a
 * resource that dependsOn the one before) and the `plan` CLI (which prints it).
 */
import type { CoreConfig } from "../config/core";
import {
  APPLICATION_TIER,
  SCALE_DOWN_ORDER,
  defaultWorkloadKind,
  defaultWorkloadName,
  type Phase,
  type Platform,
  type ServiceKey,
  type WorkloadKind,
} from "./services";
import type { DatabaseConfig, MigrationConfig } from "../database/config";
import type { EndpointsConfig } from "../endpoints/config";
import type { HealthConfig } from "../health/config";
import type { GateName } from "./names";
import type { SidekiqConfig } from "../sidekiq/config";
import type { WindowSettings } from "../window/record";

export interface ServiceStep {
  type: "service";
  /** The Pulumi resource name of the step: the service key. */
  name: ServiceKey;
  workloadName: string;
  /** Kubernetes only. */
  workloadKind?: WorkloadKind;
  /** The running count held in stack config. */
  configuredCount: number;
  /** The count this update scales to. */
  targetCount: number;
  keptRunning: boolean;
}

export { GATE_NAMES, type GateName } from "./names";

interface Gate<N extends GateName> {
  type: "gate";
  name: N;
  description: string;
}

/**
 * A gate step, with the config section it runs on: the program registers it from the step
 * alone. Secrets (URLs) are in here: print a step's name and description, never the step.
 */
export type GateStep =
  | (Gate<"sidekiq-preflight"> & { sidekiq: SidekiqConfig })
  | (Gate<"sidekiq-drain"> & { sidekiq: SidekiqConfig })
  | (Gate<"database-backup"> & { database: DatabaseConfig })
  | (Gate<"database-migration"> & { database: DatabaseConfig; migration: MigrationConfig })
  | (Gate<"endpoint-switch"> & { endpoints: EndpointsConfig })
  | (Gate<"endpoint-propagation"> & { endpoints: EndpointsConfig })
  | (Gate<"maintenance-window"> & {
      /** `versionGuard.allowChange`. */
      allowVersionChange: boolean;
      /** The URLs this update's gates use, checked against the last endpoint switch. */
      settings: WindowSettings;
    })
  | (Gate<"tines-health"> & { health: HealthConfig });

export type PlanStep = ServiceStep | GateStep;

export interface Plan {
  phase: Phase;
  platform: Platform;
  /** In execution order: each step starts only after the one before it has finished. */
  steps: PlanStep[];
}

/** The config sections that switch optional gates on (lib/config/stackConfig.ts `planGates`). */
export interface PlanGates {
  /** `sidekiq.redisUrl` is set. */
  sidekiq?: SidekiqConfig;
  /** A database backup is configured and enabled for shutdown. */
  databaseBackup?: DatabaseConfig;
  /** A migration to a new database instance is configured for shutdown. */
  databaseMigration?: DatabaseConfig & { migration: MigrationConfig };
  /** New endpoints (DATABASE_HOST / REDIS_URL) are configured. */
  endpoints?: EndpointsConfig;
  /**
   * The window record: version guard, first-stop time, settings checked against the last
   * switch. `database` is the whole section (its migration target is checked in both phases).
   */
  window?: { allowVersionChange: boolean; database?: DatabaseConfig };
  /** `health.url` is set: the startup ends by waiting for Tines to report healthy. */
  health?: HealthConfig;
}

export const NO_GATES: PlanGates = {};

const GATE_DESCRIPTIONS: Record<GateName, string> = {
  "sidekiq-preflight": "sample the Sidekiq queue; warn or refuse if it is non-zero and not falling",
  "sidekiq-drain": "wait until the Sidekiq queue is near 0 and not increasing, with no job in flight",
  "database-backup": "dump the database before any data store goes down",
  "database-migration": "copy the database to the new instance and verify the copy",
  "endpoint-switch": "write the new DATABASE_HOST / REDIS_URL where the platform keeps them",
  "endpoint-propagation": "check the new endpoints resolve and accept connections before anything starts",
  "maintenance-window":
    "record the Tines versions and the first stop; refuse settings that point where the last endpoint switch moved Tines away from",
  "tines-health": "wait until Tines reports healthy (PostgreSQL, Redis and a Sidekiq process reachable)",
};

const WINDOW_AT_STARTUP =
  "refuse to start anything if a Tines version changed during the window (unless versionGuard.allowChange)";

type WithoutKeys<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A gate step: its name and config; the description comes from GATE_DESCRIPTIONS. */
function gate(step: WithoutKeys<GateStep, "type" | "description">): GateStep {
  return { type: "gate", description: GATE_DESCRIPTIONS[step.name], ...step } as GateStep;
}

export function buildPlan(config: CoreConfig, gates: PlanGates = NO_GATES): Plan {
  const keep = new Set(config.keepRunning);
  const serviceSteps = new Map<ServiceKey, ServiceStep>();
  for (const service of config.services) {
    const keptRunning = config.phase === "shutdown" && keep.has(service.key);
    serviceSteps.set(service.key, {
      type: "service",
      name: service.key,
      workloadName: service.name ?? defaultWorkloadName(config.platform, service.key),
      ...(config.platform === "kubernetes"
        ? { workloadKind: service.kind ?? defaultWorkloadKind(service.key) }
        : {}),
      configuredCount: service.count,
      targetCount: config.phase === "shutdown" && !keptRunning ? 0 : service.count,
      keptRunning,
    });
  }

  const shutdown = config.phase === "shutdown";
  const sidekiqStep = serviceSteps.get("tines-sidekiq");
  const sidekiq = shutdown && sidekiqStep?.targetCount === 0 ? gates.sidekiq : undefined;
  const backup = shutdown ? gates.databaseBackup : undefined;
  const migration = shutdown ? gates.databaseMigration : undefined;
  const window = gates.window && {
    allowVersionChange: gates.window.allowVersionChange,
    settings: {
      sidekiqRedisUrl: sidekiq?.redisUrl,
      databaseUrl: (backup ?? migration)?.url,
      migrationTargetUrl: gates.window.database?.migration?.targetUrl,
      allowNonEmptyTarget: gates.window.database?.migration?.allowNonEmptyTarget,
    },
  };

  const steps: PlanStep[] = [];
  if (shutdown) {
    if (sidekiq) steps.push(gate({ name: "sidekiq-preflight", sidekiq }));
    // Right before the first stop: its time opens the downtime record.
    let windowRecorded = !window;
    const recordWindow = () => {
      if (!windowRecorded && window) steps.push(gate({ name: "maintenance-window", ...window }));
      windowRecorded = true;
    };
    const pushService = (step: ServiceStep | undefined) => {
      if (!step) return;
      recordWindow();
      steps.push(step);
    };
    for (const key of SCALE_DOWN_ORDER.filter((k) => APPLICATION_TIER.includes(k))) {
      if (key === "tines-sidekiq" && sidekiq) {
        recordWindow();
        steps.push(gate({ name: "sidekiq-drain", sidekiq }));
      }
      pushService(serviceSteps.get(key));
    }
    // Taken once nothing writes to the database any more, and before any data store changes.
    if (backup) steps.push(gate({ name: "database-backup", database: backup }));
    for (const key of SCALE_DOWN_ORDER.filter((k) => !APPLICATION_TIER.includes(k))) {
      pushService(serviceSteps.get(key));
    }
    if (migration) {
      steps.push(gate({ name: "database-migration", database: migration, migration: migration.migration }));
    }
    if (gates.endpoints) steps.push(gate({ name: "endpoint-switch", endpoints: gates.endpoints }));
  } else {
    if (window) {
      steps.push({ ...gate({ name: "maintenance-window", ...window }), description: WINDOW_AT_STARTUP });
    }
    if (gates.endpoints) steps.push(gate({ name: "endpoint-propagation", endpoints: gates.endpoints }));
    for (const key of [...SCALE_DOWN_ORDER].reverse()) {
      const step = serviceSteps.get(key);
      if (step) steps.push(step);
    }
    if (gates.health) steps.push(gate({ name: "tines-health", health: gates.health }));
  }
  return { phase: config.phase, platform: config.platform, steps };
}

/** The plan's step for one gate, if the plan has it. */
export function gateStep<N extends GateName>(
  plan: Plan,
  name: N,
): Extract<GateStep, { name: N }> | undefined {
  return plan.steps.find((s): s is Extract<GateStep, { name: N }> => s.type === "gate" && s.name === name);
}

export function serviceSteps(plan: Plan): ServiceStep[] {
  return plan.steps.filter((s): s is ServiceStep => s.type === "service");
}

/** Human-readable plan, one line a step, as the `plan` CLI prints it. */
export function formatPlan(plan: Plan): string {
  const lines = [
    `phase ${plan.phase} on ${plan.platform}: ${plan.steps.length} steps, each after the one before`,
  ];
  plan.steps.forEach((step, index) => {
    const n = String(index + 1).padStart(2);
    if (step.type === "gate") {
      lines.push(`${n}. gate    ${step.name}: ${step.description}`);
    } else {
      const workload = step.workloadKind ? `${step.workloadKind}/${step.workloadName}` : step.workloadName;
      const change = step.keptRunning
        ? `kept running at ${step.targetCount} (keepRunning)`
        : `scale to ${step.targetCount}${plan.phase === "shutdown" ? ` (restored to ${step.configuredCount} at startup)` : ""}`;
      lines.push(`${n}. service ${step.name} [${workload}]: ${change}`);
    }
  });
  return lines.join("\n");
}
