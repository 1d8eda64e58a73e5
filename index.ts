/**
 * tines-maintenance: the self-hosted Tines maintenance runbook as one Pulumi update.
 * Reads and validates the whole stack config, builds the plan, then registers one
 * resource per step, each depending on the one before, under one MaintenanceRun.
 */
import os from "node:os";
import * as pulumi from "@pulumi/pulumi";
import { rawConfigFromPulumi } from "./lib/config";
import { isMaintenanceError } from "./lib/errors";
import { ENDPOINT_SWITCH_NAME, MAINTENANCE_RUN_NAME } from "./lib/names";
import { buildPlan, type GateStep } from "./lib/plan";
import { parseStackConfig, planGates, type StackConfig } from "./lib/stackConfig";
import { DatabaseBackup } from "./components/databaseBackup";
import { DatabaseMigration } from "./components/databaseMigration";
import { EndpointPropagationGate } from "./components/endpointPropagationGate";
import { EndpointSwitch } from "./components/endpointSwitch";
import { MaintenanceRun } from "./components/maintenanceRun";
import { MaintenanceWindow } from "./components/maintenanceWindow";
import { TinesHealthGate } from "./components/tinesHealthGate";
import { TinesServiceStep } from "./components/serviceStep";
import { SidekiqDrainGate } from "./components/sidekiqDrainGate";
import { SidekiqPreflight } from "./components/sidekiqPreflight";
import { createPlatformAdapter } from "./components/platforms";

function readStackConfig(): StackConfig {
  try {
    return parseStackConfig(rawConfigFromPulumi(pulumi.runtime.allConfig()));
  } catch (error) {
    // RunError: Pulumi prints the message alone, without a stack trace.
    if (isMaintenanceError(error)) throw new pulumi.RunError(error.message);
    throw error;
  }
}

/** A section the plan includes a gate for; its absence is a bug in planGates, not bad config. */
function section<T>(value: T | undefined, gate: string): T {
  if (value === undefined) throw new Error(`internal: gate ${gate} planned without its config section`);
  return value;
}

const config = readStackConfig();
const plan = buildPlan(config, planGates(config));
const stack = pulumi.getStack();
const startedAt = new Date().toISOString();

const run = new MaintenanceRun(MAINTENANCE_RUN_NAME, { phase: plan.phase, platform: plan.platform });
const adapter = createPlatformAdapter(config, run);

/** The endpoint switch, with what every registration of it shares. */
function endpointSwitch(
  endpoints: NonNullable<StackConfig["endpoints"]>,
  reached: Record<string, pulumi.Input<number>> | undefined,
  opts: pulumi.ComponentResourceOptions,
): EndpointSwitch {
  return new EndpointSwitch(
    ENDPOINT_SWITCH_NAME,
    {
      plan,
      endpoints,
      composeProjectDirectory: config.compose.projectDirectory,
      kubernetesNamespace: config.kubernetes.namespace,
      kubernetesProvider: adapter.provider,
      reached,
    },
    opts,
  );
}

// In running phase the switch writes nothing: it holds the values last applied, so that a
// change made with phase running is refused (at preview already) before anything starts.
const endpointRecord =
  config.endpoints && plan.phase === "running"
    ? endpointSwitch(config.endpoints, undefined, { parent: run })
    : undefined;

const serviceSteps = new Map<string, TinesServiceStep>();
const gates: {
  preflight?: SidekiqPreflight;
  drain?: SidekiqDrainGate;
  backup?: DatabaseBackup;
  migration?: DatabaseMigration;
  endpointSwitch?: EndpointSwitch;
  propagation?: EndpointPropagationGate;
  window?: MaintenanceWindow;
  health?: TinesHealthGate;
} = {};

/** The window record's inputs: the URLs this shutdown's gates use, and in running the switch's record. */
function maintenanceWindow(name: string, opts: pulumi.ComponentResourceOptions): MaintenanceWindow {
  const planned = new Set(plan.steps.map((s) => s.name));
  const endpoints = config.endpoints;
  return new MaintenanceWindow(
    name,
    {
      plan,
      versionSource: adapter.versionSource,
      allowVersionChange: config.versionGuard.allowChange,
      settings: {
        sidekiqRedisUrl: planned.has("sidekiq-drain") ? config.sidekiq?.redisUrl : undefined,
        databaseUrl:
          planned.has("database-backup") || planned.has("database-migration")
            ? config.database?.url
            : undefined,
        migrationTargetUrl: config.database?.migration?.targetUrl,
        allowNonEmptyTarget: config.database?.migration?.allowNonEmptyTarget,
      },
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

function registerGate(step: GateStep, opts: pulumi.ComponentResourceOptions): pulumi.Resource {
  const sidekiq = () => section(config.sidekiq, step.name);
  const database = () => section(config.database, step.name);
  const endpoints = () => section(config.endpoints, step.name);
  switch (step.name) {
    case "sidekiq-preflight": {
      const s = sidekiq();
      return (gates.preflight = new SidekiqPreflight(
        step.name,
        {
          redisUrl: pulumi.secret(s.redisUrl),
          namespace: s.namespace,
          mode: s.preflight,
          preflightSeconds: s.preflightSeconds,
          intervalSeconds: s.intervalSeconds,
          windowSeconds: s.windowSeconds,
          maxSize: s.maxSize,
          runId: startedAt,
        },
        opts,
      ));
    }
    case "sidekiq-drain": {
      const s = sidekiq();
      return (gates.drain = new SidekiqDrainGate(
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
          runId: startedAt,
        },
        opts,
      ));
    }
    case "database-backup": {
      const d = database();
      return (gates.backup = new DatabaseBackup(
        step.name,
        { url: pulumi.secret(d.url), backup: d.backup, stack, phase: plan.phase, runId: startedAt },
        opts,
      ));
    }
    case "database-migration": {
      const d = database();
      return (gates.migration = new DatabaseMigration(
        step.name,
        { sourceUrl: pulumi.secret(d.url), migration: section(d.migration, step.name), core: config },
        opts,
      ));
    }
    case "endpoint-switch": {
      const reached = Object.fromEntries([...serviceSteps].map(([key, s]) => [key, s.reachedCount]));
      return (gates.endpointSwitch = endpointSwitch(endpoints(), reached, opts));
    }
    case "maintenance-window":
      return (gates.window = maintenanceWindow(step.name, opts));
    case "tines-health":
      return (gates.health = new TinesHealthGate(
        step.name,
        {
          health: section(config.health, step.name),
          windowStartedAt: section(gates.window, step.name).windowStartedAt,
        },
        opts,
      ));
    case "endpoint-propagation": {
      const record = section(endpointRecord, step.name);
      return (gates.propagation = new EndpointPropagationGate(
        step.name,
        { endpoints: endpoints(), switchedAt: record.switchedAt },
        { ...opts, dependsOn: [...((opts.dependsOn as pulumi.Resource[]) ?? []), record.done] },
      ));
    }
  }
}

let previous: pulumi.Resource | undefined;
for (const step of plan.steps) {
  const opts: pulumi.ComponentResourceOptions = { parent: run, dependsOn: previous ? [previous] : [] };
  if (step.type === "service") {
    const serviceStep = new TinesServiceStep(
      step.name,
      { step, phase: plan.phase, adapter, timeoutSeconds: config.stepTimeoutSeconds },
      opts,
    );
    serviceSteps.set(step.name, serviceStep);
    previous = serviceStep;
  } else {
    previous = registerGate(step, opts);
  }
}

export const phase = plan.phase;
export const platform = plan.platform;
export const steps = plan.steps.map((step) => step.name);
export const services = pulumi.all(
  [...serviceSteps].map(([name, s]) =>
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

const endpointState = gates.endpointSwitch ?? endpointRecord;

/** The audit record of this update: what the gates saw and did. Host names only, never secrets. */
export const audit = pulumi.output({
  startedAt,
  ranBy: `${os.userInfo().username}@${os.hostname()}`,
  sidekiqPreflight: gates.preflight && { outcome: gates.preflight.outcome, samples: gates.preflight.samples },
  sidekiqDrain: gates.drain && {
    outcome: gates.drain.outcome,
    waitedSeconds: gates.drain.waitedSeconds,
    samples: gates.drain.samples,
  },
  databaseBackup: gates.backup && {
    location: gates.backup.location,
    bytes: gates.backup.bytes,
    sha256: gates.backup.sha256,
  },
  databaseMigration: gates.migration && {
    tables: gates.migration.tables,
    mismatches: gates.migration.mismatches,
    summary: gates.migration.summary,
  },
  endpointSwitch: endpointState && {
    databaseHost: endpointState.databaseHost,
    redisHost: endpointState.redisHost,
    previousDatabaseHost: endpointState.previousDatabaseHost,
    previousRedisHost: endpointState.previousRedisHost,
    switchedAt: endpointState.switchedAt,
    backup: endpointState.backup,
  },
  window: gates.window && {
    windowStartedAt: gates.window.windowStartedAt,
    firstStopAt: gates.window.firstStopAt,
    versions: gates.window.images,
    versionOverride: gates.window.versionOverride,
  },
  tinesHealth: gates.health && {
    url: gates.health.target,
    healthyAt: gates.health.healthyAt,
    waitedSeconds: gates.health.waitedSeconds,
    status: gates.health.status,
  },
  // From the first service stopped to Tines healthy again: closed by the startup's health gate.
  downtime:
    gates.health &&
    gates.window &&
    pulumi.all([gates.window.firstStopAt, gates.health.healthyAt]).apply(([from, to]) => ({
      from,
      to,
      seconds: from ? Math.round((Date.parse(to) - Date.parse(from)) / 1000) : undefined,
    })),
  endpointPropagation: gates.propagation && {
    checkedAt: gates.propagation.checkedAt,
    endpoints: gates.propagation.endpoints,
  },
});
