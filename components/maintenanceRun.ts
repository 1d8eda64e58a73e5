import * as pulumi from "@pulumi/pulumi";
import { COMPONENT_TYPES } from "../lib/plan/names";
import type { Phase, Platform } from "../lib/plan/services";

export interface MaintenanceRunArgs {
  phase: Phase;
  platform: Platform;
}

/**
 * The root of every step of one maintenance update: stack history shows the phase and
 * platform on it, and policies read the phase from it.
 */
export class MaintenanceRun extends pulumi.ComponentResource {
  public readonly phase: pulumi.Output<Phase>;
  public readonly platform: pulumi.Output<Platform>;

  constructor(name: string, args: MaintenanceRunArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TYPES.maintenanceRun, name, args, opts);
    this.phase = pulumi.output(args.phase);
    this.platform = pulumi.output(args.platform);
    this.registerOutputs({ phase: this.phase, platform: this.platform });
  }
}
