/**
 * The whole maintenance update from a validated stack config: the plan, then one component
 * per step under one MaintenanceRun, each depending on the step before it. Returns what
 * index.ts exports: the plan, the service counts and the audit record.
 */
import * as pulumi from "@pulumi/pulumi";
import { ENDPOINT_SWITCH_NAME, MAINTENANCE_RUN_NAME, type GateName } from "../lib/names";
import { buildPlan, type GateStep, type Plan, type ServiceStep } from "../lib/plan";
import { planGates, type StackConfig } from "../lib/stackConfig";
import type { EndpointsConfig } from "../lib/endpoints/config";
import { DatabaseBackup } from "./databaseBackup";
import { DatabaseMigration } from "./databaseMigration";
import { EndpointPropagationGate } from "./endpointPropagationGate";
import { writtenKeys } from "../lib/endpoints/targetCheck";
import { EndpointSwitch, targetSpec } from "./endpointSwitch";
import { MaintenanceRun } from "./maintenanceRun";
import { MaintenanceWindow } from "./maintenanceWindow";
import type { WindowChecks } from "./resources/maintenanceWindow";
import { createPlatformAdapter } from "./platforms";
import { ServiceStepComponent } from "./serviceStep";
import { SidekiqDrainGate } from "./sidekiqDrainGate";
import { SidekiqPreflight } from "./sidekiqPreflight";
import { TinesHealthGate } from "./tinesHealthGate";

/** Who runs this update, and when it started. */
export interface MaintenanceContext {
  stack: string;
  /** ISO time; also the gates' run id, so that a retried update runs every gate again. */
  startedAt: string;
  /** `user@host`, for the audit record. */
  ranBy: string;
}

/** The component registered for each gate step. */
interface GateComponents {
  "sidekiq-preflight": SidekiqPreflight;
  "sidekiq-drain": SidekiqDrainGate;
  "database-backup": DatabaseBackup;
  "database-migration": DatabaseMigration;
  "endpoint-switch": EndpointSwitch;
  "endpoint-propagation": EndpointPropagationGate;
  "maintenance-window": MaintenanceWindow;
  "tines-health": TinesHealthGate;
}

interface Registered {
  plan: Plan;
  run: MaintenanceRun;
  serviceSteps: Map<string, ServiceStepComponent>;
  /** Each registered gate's component, by gate name. */
  gates: Partial<GateComponents>;
  /** The endpoint switch: a step of the shutdown, the record ahead of the chain in running. */
  endpointSwitch?: EndpointSwitch;
}

export interface Maintenance extends Registered {
  /** Each service step's counts: configured, target, before and reached. */
  services: ReturnType<typeof serviceCounts>;
  /** What the gates saw and did. */
  audit: ReturnType<typeof auditRecord>;
}

export function buildMaintenance(config: StackConfig, context: MaintenanceContext): Maintenance {
  const plan = buildPlan(config, planGates(config));
  const run = new MaintenanceRun(MAINTENANCE_RUN_NAME, { phase: plan.phase, platform: plan.platform });
  const adapter = createPlatformAdapter(config, run);
  const serviceSteps = new Map<string, ServiceStepComponent>();
  const gates: Partial<GateComponents> = {};
  const keep = <N extends GateName>(name: N, component: GateComponents[N]) => {
    gates[name] = component;
    return component;
  };

  const registerEndpointSwitch = (endpoints: EndpointsConfig, after: pulumi.Resource[]) =>
    new EndpointSwitch(
      ENDPOINT_SWITCH_NAME,
      {
        plan,
        endpoints,
        composeProjectDirectory: config.compose.projectDirectory,
        kubernetesNamespace: config.kubernetes.namespace,
        kubernetesProvider: adapter.provider,
        reached: Object.fromEntries([...serviceSteps].map(([key, s]) => [key, s.reachedCount])),
      },
      { parent: run, dependsOn: after },
    );

  // In running phase the switch writes nothing: it holds the values last applied, so that a
  // change made with phase running is refused (at preview already) before anything starts.
  // The window and the propagation gate read it, so it stands ahead of the chain.
  const endpointRecord =
    plan.phase === "running" && config.endpoints ? registerEndpointSwitch(config.endpoints, []) : undefined;

  function registerGate(step: GateStep, after: pulumi.Resource[]): pulumi.Resource {
    const opts = { parent: run, dependsOn: after };
    switch (step.name) {
      case "sidekiq-preflight":
        return keep(
          step.name,
          new SidekiqPreflight(
            step.name,
            {
              redisUrl: pulumi.secret(step.sidekiq.redisUrl),
              namespace: step.sidekiq.namespace,
              mode: step.sidekiq.preflight,
              preflightSeconds: step.sidekiq.preflightSeconds,
              intervalSeconds: step.sidekiq.intervalSeconds,
              windowSeconds: step.sidekiq.windowSeconds,
              maxSize: step.sidekiq.maxSize,
              runId: context.startedAt,
            },
            opts,
          ),
        );
      case "sidekiq-drain": {
        const s = step.sidekiq;
        return keep(
          step.name,
          new SidekiqDrainGate(
            step.name,
            {
              redisUrl: pulumi.secret(s.redisUrl),
              namespace: s.namespace,
              settings: {
                intervalSeconds: s.intervalSeconds,
                windowSeconds: s.windowSeconds,
                settleSeconds: s.settleSeconds,
                maxSize: s.maxSize,
                maxBusy: s.maxBusy,
                timeoutSeconds: s.timeoutSeconds,
              },
              runId: context.startedAt,
            },
            opts,
          ),
        );
      }
      case "database-backup":
        return keep(
          step.name,
          new DatabaseBackup(
            step.name,
            {
              url: pulumi.secret(step.database.url),
              backup: step.database.backup,
              stack: context.stack,
              phase: plan.phase,
              runId: context.startedAt,
              windowStartedAt: windowOf(step.name).windowStartedAt,
            },
            opts,
          ),
        );
      case "database-migration":
        return keep(
          step.name,
          new DatabaseMigration(
            step.name,
            {
              sourceUrl: pulumi.secret(step.database.url),
              migration: step.migration,
              stack: context.stack,
              windowStartedAt: windowOf(step.name).windowStartedAt,
            },
            opts,
          ),
        );
      case "endpoint-switch":
        return keep(step.name, registerEndpointSwitch(step.endpoints, after));
      case "maintenance-window":
        return keep(step.name, maintenanceWindow(step, opts));
      case "tines-health":
        return keep(
          step.name,
          new TinesHealthGate(
            step.name,
            { health: step.health, windowStartedAt: windowOf(step.name).windowStartedAt },
            opts,
          ),
        );
      case "endpoint-propagation": {
        const record = recordOf(step.name);
        return keep(
          step.name,
          new EndpointPropagationGate(
            step.name,
            { endpoints: step.endpoints, switchedAt: record.switchedAt },
            { ...opts, dependsOn: [...after, record.done] },
          ),
        );
      }
    }
  }

  /** What the shutdown's endpoint switch and backup will write to, for the window to check first. */
  function writeTargets(): WindowChecks {
    const checks: WindowChecks = {};
    for (const step of plan.steps) {
      if (step.type !== "gate") continue;
      if (step.name === "endpoint-switch") {
        const { endpoints } = step;
        checks.endpointTarget = {
          target: targetSpec({
            endpoints,
            composeProjectDirectory: config.compose.projectDirectory,
            kubernetesNamespace: config.kubernetes.namespace,
          }),
          writes: writtenKeys(endpoints.keys, {
            databaseHost: endpoints.databaseHost !== undefined,
            redisUrl: endpoints.redisUrl !== undefined,
          }),
          pathKey:
            endpoints.target.kind === "env-file" && endpoints.target.path
              ? "endpoints.target.path"
              : "compose.projectDirectory",
        };
      }
      if (step.name === "database-backup" && step.database.backup.directory)
        checks.backupDirectory = step.database.backup.directory;
    }
    return checks;
  }

  /** The window record; in running it also carries what the endpoint switch last applied. */
  function maintenanceWindow(
    step: Extract<GateStep, { name: "maintenance-window" }>,
    opts: pulumi.ComponentResourceOptions,
  ): MaintenanceWindow {
    const endpoints = config.endpoints;
    return new MaintenanceWindow(
      step.name,
      {
        plan,
        versionSource: adapter.versionSource,
        allowVersionChange: step.allowVersionChange,
        settings: step.settings,
        checks: plan.phase === "shutdown" ? writeTargets() : undefined,
        switched:
          endpointRecord && endpoints
            ? endpointRecord.switchedAt.apply((switchedAt) => ({
                switchedAt,
                databaseHost: endpoints.databaseHost,
                databasePort: endpoints.databasePort,
                redisUrl: endpoints.redisUrl,
              }))
            : undefined,
      },
      opts,
    );
  }

  // The plan puts the window before the health gate, and the record before the propagation gate.
  const windowOf = (gate: GateName) => required(gates["maintenance-window"], gate, "the window record");
  const recordOf = (gate: GateName) => required(endpointRecord, gate, "the endpoint record");

  let previous: pulumi.Resource | undefined;
  for (const step of plan.steps) {
    const after = previous ? [previous] : [];
    previous = step.type === "service" ? registerService(step, after) : registerGate(step, after);
  }

  function registerService(step: ServiceStep, after: pulumi.Resource[]): ServiceStepComponent {
    const component = new ServiceStepComponent(
      step.name,
      { step, phase: plan.phase, adapter, timeoutSeconds: config.stepTimeoutSeconds },
      { parent: run, dependsOn: after },
    );
    serviceSteps.set(step.name, component);
    return component;
  }

  const registered = {
    plan,
    run,
    serviceSteps,
    gates,
    endpointSwitch: gates["endpoint-switch"] ?? endpointRecord,
  };
  return { ...registered, services: serviceCounts(registered), audit: auditRecord(registered, context) };
}

function required<T>(value: T | undefined, gate: GateName, what: string): T {
  if (value === undefined) throw new Error(`internal: the plan put ${gate} before ${what}`);
  return value;
}

/** The counts of every service step, as the stack outputs `services`. */
function serviceCounts(maintenance: Registered) {
  return pulumi.all(
    [...maintenance.serviceSteps].map(([name, s]) =>
      pulumi.output({
        name,
        workloadName: s.workloadName,
        configuredCount: s.configuredCount,
        targetCount: s.targetCount,
        previousCount: s.previousCount,
        reachedCount: s.reachedCount,
      }),
    ),
  );
}

/** The audit record of this update: what the gates saw and did. Host names only, never secrets. */
function auditRecord(maintenance: Registered, context: MaintenanceContext) {
  const { gates, endpointSwitch } = maintenance;
  const preflight = gates["sidekiq-preflight"];
  const drain = gates["sidekiq-drain"];
  const backup = gates["database-backup"];
  const migration = gates["database-migration"];
  const window = gates["maintenance-window"];
  const health = gates["tines-health"];
  const propagation = gates["endpoint-propagation"];
  return pulumi.output({
    startedAt: context.startedAt,
    ranBy: context.ranBy,
    sidekiqPreflight: preflight && { outcome: preflight.outcome, samples: preflight.samples },
    sidekiqDrain: drain && {
      outcome: drain.outcome,
      waitedSeconds: drain.waitedSeconds,
      samples: drain.samples,
    },
    databaseBackup: backup && {
      location: backup.location,
      bytes: backup.bytes,
      sha256: backup.sha256,
      reused: backup.dump.reused,
    },
    databaseMigration: migration && {
      tables: migration.tables,
      mismatches: migration.mismatches,
      summary: migration.summary,
    },
    endpointSwitch: endpointSwitch && {
      databaseHost: endpointSwitch.databaseHost,
      redisHost: endpointSwitch.redisHost,
      previousDatabaseHost: endpointSwitch.previousDatabaseHost,
      previousRedisHost: endpointSwitch.previousRedisHost,
      switchedAt: endpointSwitch.switchedAt,
      backup: endpointSwitch.backup,
    },
    window: window && {
      windowStartedAt: window.windowStartedAt,
      firstStopAt: window.firstStopAt,
      versions: window.images,
      versionOverride: window.versionOverride,
    },
    tinesHealth: health && {
      url: health.target,
      healthyAt: health.healthyAt,
      waitedSeconds: health.waitedSeconds,
      status: health.status,
    },
    // From the first service stopped to Tines healthy again: closed by the startup's health gate.
    downtime:
      health &&
      window &&
      pulumi.all([window.firstStopAt, health.healthyAt]).apply(([from, to]) => ({
        from,
        to,
        seconds: from ? Math.round((Date.parse(to) - Date.parse(from)) / 1000) : undefined,
      })),
    endpointPropagation: propagation && {
      checkedAt: propagation.checkedAt,
      endpoints: propagation.endpoints,
    },
  });
}
