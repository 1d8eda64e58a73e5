/**
 * The plan: which steps a `pulumi up` takes, in which order, at which counts. A pure
 * function of the validated config, shared by the program (which turns each step into a
 * resource that dependsOn the one before) and the `plan` CLI (which prints it).
 */
import type { CoreConfig } from "./config";
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
import type { GateName } from "./names";

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

export interface GateStep {
  type: "gate";
  name: GateName;
  description: string;
}

export type PlanStep = ServiceStep | GateStep;

export interface Plan {
  phase: Phase;
  platform: Platform;
  /** In execution order: each step starts only after the one before it has finished. */
  steps: PlanStep[];
}

/** Which optional gates the rest of the config switches on. */
export interface PlanGates {
  /** `sidekiq.redisUrl` is set. */
  sidekiq: boolean;
  /** A database backup is configured and enabled for shutdown. */
  databaseBackup: boolean;
  /** A migration to a new database instance is configured. */
  databaseMigration: boolean;
  /** New endpoints (DATABASE_HOST / REDIS_URL) are configured. */
  endpoints: boolean;
  /** The window record: version guard, first-stop time, settings checked against the last switch. */
  window?: boolean;
  /** `health.url` is set: the startup ends by waiting for Tines to report healthy. */
  health?: boolean;
}

export const NO_GATES: PlanGates = {
  sidekiq: false,
  databaseBackup: false,
  databaseMigration: false,
  endpoints: false,
};

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

function gate(name: GateName): GateStep {
  return { type: "gate", name, description: GATE_DESCRIPTIONS[name] };
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

  const steps: PlanStep[] = [];
  if (config.phase === "shutdown") {
    const sidekiq = serviceSteps.get("tines-sidekiq");
    const sidekiqStops = sidekiq !== undefined && sidekiq.targetCount === 0;
    if (gates.sidekiq && sidekiqStops) steps.push(gate("sidekiq-preflight"));
    // Right before the first stop: its time opens the downtime record.
    let windowRecorded = !gates.window;
    const pushService = (step: ServiceStep | undefined) => {
      if (!step) return;
      if (!windowRecorded) steps.push(gate("maintenance-window"));
      windowRecorded = true;
      steps.push(step);
    };
    for (const key of SCALE_DOWN_ORDER.filter((k) => APPLICATION_TIER.includes(k))) {
      if (key === "tines-sidekiq" && gates.sidekiq && sidekiqStops) {
        if (!windowRecorded) steps.push(gate("maintenance-window"));
        windowRecorded = true;
        steps.push(gate("sidekiq-drain"));
      }
      pushService(serviceSteps.get(key));
    }
    // Taken once nothing writes to the database any more, and before any data store changes.
    if (gates.databaseBackup) steps.push(gate("database-backup"));
    for (const key of SCALE_DOWN_ORDER.filter((k) => !APPLICATION_TIER.includes(k))) {
      pushService(serviceSteps.get(key));
    }
    if (gates.databaseMigration) steps.push(gate("database-migration"));
    if (gates.endpoints) steps.push(gate("endpoint-switch"));
  } else {
    if (gates.window) steps.push({ ...gate("maintenance-window"), description: WINDOW_AT_STARTUP });
    if (gates.endpoints) steps.push(gate("endpoint-propagation"));
    for (const key of [...SCALE_DOWN_ORDER].reverse()) {
      const step = serviceSteps.get(key);
      if (step) steps.push(step);
    }
    if (gates.health) steps.push(gate("tines-health"));
  }
  return { phase: config.phase, platform: config.platform, steps };
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
