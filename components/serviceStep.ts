import * as pulumi from "@pulumi/pulumi";
import { COMPONENT_TYPES } from "../lib/plan/names";
import type { ServiceStep } from "../lib/plan/plan";
import type { Phase } from "../lib/plan/services";
import type { PlatformAdapter } from "./platforms/adapter";

export interface ServiceStepComponentArgs {
  step: ServiceStep;
  phase: Phase;
  adapter: PlatformAdapter;
  timeoutSeconds: number;
}

/**
 * The component of one plan `ServiceStep`: one service of the runbook brought to its target
 * count. Registered as `ServiceStep` (COMPONENT_TYPES.serviceStep): the type token is part of
 * every step's URN, so it stays as it was. Finishes only when the platform
 * reports the target reached, so a step that dependsOn this one starts after it.
 */
export class ServiceStepComponent extends pulumi.ComponentResource {
  public readonly workloadName: pulumi.Output<string>;
  public readonly configuredCount: pulumi.Output<number>;
  public readonly targetCount: pulumi.Output<number>;
  public readonly previousCount: pulumi.Output<number | undefined>;
  public readonly reachedCount: pulumi.Output<number>;

  constructor(name: string, args: ServiceStepComponentArgs, opts?: pulumi.ComponentResourceOptions) {
    // The inputs are recorded so that stack policies and stack history see each step's counts.
    super(
      COMPONENT_TYPES.serviceStep,
      name,
      {
        workloadName: args.step.workloadName,
        configuredCount: args.step.configuredCount,
        targetCount: args.step.targetCount,
      },
      opts,
    );
    const scaled = args.adapter.scaleService(args.step, {
      parent: this,
      phase: args.phase,
      timeoutSeconds: args.timeoutSeconds,
    });
    this.workloadName = pulumi.output(args.step.workloadName);
    this.configuredCount = pulumi.output(args.step.configuredCount);
    this.targetCount = pulumi.output(args.step.targetCount);
    this.previousCount = scaled.previousCount;
    this.reachedCount = scaled.reachedCount;
    this.registerOutputs({
      workloadName: this.workloadName,
      configuredCount: this.configuredCount,
      targetCount: this.targetCount,
      previousCount: this.previousCount,
      reachedCount: this.reachedCount,
    });
  }
}
