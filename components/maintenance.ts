/**
 * The whole maintenance update from a validated stack config: the plan, then one component
 * per step under one MaintenanceRun, each depending on the step before it. A service step
 * goes to the platform adapter, a gate step to its gate in GATES (./gates). Returns what
 * index.ts exports: the plan, the service counts and the audit record.
 */
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../lib/config/stackConfig";
import type { GateName } from "../lib/plan/gates";
import { MAINTENANCE_RUN_NAME } from "../lib/plan/names";
import { buildPlan, type Plan } from "../lib/plan/plan";
import { GATES, type Gate, type GateContext, type MaintenanceContext } from "./gates";
import { MaintenanceRun } from "./maintenanceRun";
import { createPlatformAdapter } from "./platforms";
import { ServiceStepComponent } from "./serviceStep";

export type { MaintenanceContext };

export interface Maintenance {
  plan: Plan;
  run: MaintenanceRun;
  serviceSteps: ReadonlyMap<string, ServiceStepComponent>;
  /** Each gate's component, by gate name: its step's, or the one standing ahead of the steps. */
  gates: ReadonlyMap<GateName, pulumi.ComponentResource>;
  /** Each service step's counts: configured, target, before and reached. */
  services: ReturnType<typeof serviceCounts>;
  /** What the gates saw and did. */
  audit: pulumi.Output<pulumi.Unwrap<Record<string, pulumi.Input<unknown>>>>;
}

/** The gate registered for a gate step (GATES is complete by its type: one gate per name). */
const gateOf = (name: GateName) => GATES[name] as unknown as Gate;

export function buildMaintenance(config: StackConfig, context: MaintenanceContext): Maintenance {
  const plan = buildPlan(config);
  const run = new MaintenanceRun(MAINTENANCE_RUN_NAME, { phase: plan.phase, platform: plan.platform });
  const adapter = createPlatformAdapter(config, run);
  const serviceSteps = new Map<string, ServiceStepComponent>();
  const gates = new Map<GateName, pulumi.ComponentResource>();
  const gateContext: GateContext = {
    config,
    plan,
    maintenance: context,
    adapter,
    serviceSteps,
    registered: (name, type) => {
      const component = gates.get(name);
      return component instanceof type ? component : undefined;
    },
  };

  const planned = new Set(plan.steps.map((step) => step.name));
  for (const gate of Object.keys(GATES).map((name) => gateOf(name as GateName))) {
    if (planned.has(gate.name)) continue;
    const standing = gate.standing?.(gateContext, { parent: run });
    if (standing) gates.set(gate.name, standing);
  }

  let previous: pulumi.Resource | undefined;
  for (const step of plan.steps) {
    const opts = { parent: run, dependsOn: previous ? [previous] : [] };
    if (step.type === "service") {
      const component = new ServiceStepComponent(
        step.name,
        { step, phase: plan.phase, adapter, timeoutSeconds: config.stepTimeoutSeconds },
        opts,
      );
      serviceSteps.set(step.name, component);
      previous = component;
    } else {
      const component = gateOf(step.name).register(step, gateContext, opts);
      gates.set(step.name, component);
      previous = component;
    }
  }

  const entries: Record<string, pulumi.Input<unknown>> = Object.assign(
    {},
    ...[...gates].map(([name, component]) => gateOf(name).audit(component, gateContext)),
  );
  return {
    plan,
    run,
    serviceSteps,
    gates,
    services: serviceCounts(serviceSteps),
    // Host names only, never secrets.
    audit: pulumi.output({ startedAt: context.startedAt, ranBy: context.ranBy, ...entries }),
  };
}

/** The counts of every service step, as the stack outputs `services`. */
function serviceCounts(serviceSteps: ReadonlyMap<string, ServiceStepComponent>) {
  return pulumi.all(
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
}
