/**
 * tines-maintenance: the self-hosted Tines maintenance runbook as one Pulumi update.
 * Reads and validates the whole stack config, builds the plan, then registers one
 * resource per step, each depending on the one before, under one MaintenanceRun.
 */
import * as pulumi from "@pulumi/pulumi";
import { rawConfigFromPulumi } from "./lib/config";
import { MaintenanceError } from "./lib/errors";
import { buildPlan, type GateStep } from "./lib/plan";
import { parseStackConfig, planGates, type StackConfig } from "./lib/stackConfig";
import { MaintenanceRun } from "./components/maintenanceRun";
import { TinesServiceStep } from "./components/serviceStep";
import { createPlatformAdapter } from "./components/platforms";

function readStackConfig(): StackConfig {
  try {
    return parseStackConfig(rawConfigFromPulumi(pulumi.runtime.allConfig()));
  } catch (error) {
    // RunError: Pulumi prints the message alone, without a stack trace.
    if (error instanceof MaintenanceError) throw new pulumi.RunError(error.message);
    throw error;
  }
}

const config = readStackConfig();
const plan = buildPlan(config, planGates(config));
const adapter = createPlatformAdapter(config);

const run = new MaintenanceRun("maintenance", { phase: plan.phase, platform: plan.platform });

function registerGate(step: GateStep, _opts: pulumi.ComponentResourceOptions): pulumi.Resource {
  throw new pulumi.RunError(`gate ${step.name} is not available in this build`);
}

const serviceSteps: TinesServiceStep[] = [];
let previous: pulumi.Resource | undefined;
for (const step of plan.steps) {
  const opts: pulumi.ComponentResourceOptions = { parent: run, dependsOn: previous ? [previous] : [] };
  if (step.type === "service") {
    const serviceStep = new TinesServiceStep(
      step.name,
      { step, phase: plan.phase, adapter, timeoutSeconds: config.stepTimeoutSeconds },
      opts,
    );
    serviceSteps.push(serviceStep);
    previous = serviceStep;
  } else {
    previous = registerGate(step, opts);
  }
}

export const phase = plan.phase;
export const platform = plan.platform;
export const steps = plan.steps.map((step) => step.name);
export const services = pulumi.all(
  serviceSteps.map((s, i) =>
    pulumi.output({
      name: plan.steps.filter((step) => step.type === "service")[i].name,
      workloadName: s.workloadName,
      configuredCount: s.configuredCount,
      targetCount: s.targetCount,
      previousCount: s.previousCount,
      reachedCount: s.reachedCount,
    }),
  ),
);
