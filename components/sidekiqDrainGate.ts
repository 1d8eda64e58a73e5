/**
 * The drain gate before tines-sidekiq stops (Pulumi name `sidekiq-drain`): finishes only
 * once Sidekiq's queues are at or under the threshold, not increasing, with no job in
 * flight, so the tines-sidekiq step that dependsOn it cannot lose work. Preview registers
 * it without touching Redis or waiting.
 */
import * as pulumi from "@pulumi/pulumi";
import { COMPONENT_TYPES, DYNAMIC_TYPES } from "../lib/names";
import type { DrainSettings } from "../lib/sidekiq/config";
import type { AuditSample } from "../lib/sidekiq/gate";
import { sidekiqDrainProvider } from "./providers/sidekiqDrainProvider";

export interface SidekiqDrainGateArgs {
  /** Where Sidekiq keeps its queues; wrapped as a secret here whatever the caller passes. */
  redisUrl: pulumi.Input<string>;
  /** redis-namespace prefix, if Tines' Sidekiq uses one. */
  namespace?: pulumi.Input<string>;
  settings: DrainSettings;
  /**
   * The update this run belongs to (index.ts: the update's start time). A gate's pass
   * holds only for the update in which it ran, right before the step it guards: every
   * update brings a new value, so a retry runs the gate again instead of trusting a pass
   * from before Sidekiq or the app could have been started again.
   */
  runId: pulumi.Input<string>;
}

/** The provider's inputs: the URL always as a secret, absent options as "". */
export function drainGateInputs(args: SidekiqDrainGateArgs) {
  return {
    redisUrl: pulumi.secret(args.redisUrl),
    namespace: args.namespace ?? "",
    // The provider's re-run key (gateDiff).
    trigger: args.runId,
    ...args.settings,
  };
}

export class SidekiqDrain extends pulumi.dynamic.Resource {
  declare public readonly outcome: pulumi.Output<string>;
  declare public readonly reason: pulumi.Output<string>;
  declare public readonly waitedSeconds: pulumi.Output<number>;
  declare public readonly samples: pulumi.Output<AuditSample[]>;

  constructor(name: string, args: SidekiqDrainGateArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      sidekiqDrainProvider,
      name,
      {
        ...drainGateInputs(args),
        outcome: undefined,
        reason: undefined,
        waitedSeconds: undefined,
        samples: undefined,
      },
      opts,
      DYNAMIC_TYPES.sidekiqDrain.module,
      DYNAMIC_TYPES.sidekiqDrain.type,
    );
  }
}

export class SidekiqDrainGate extends pulumi.ComponentResource {
  public readonly gate: SidekiqDrain;
  public readonly outcome: pulumi.Output<string>;
  public readonly waitedSeconds: pulumi.Output<number>;
  public readonly samples: pulumi.Output<AuditSample[]>;

  constructor(name: string, args: SidekiqDrainGateArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TYPES.sidekiqDrainGate, name, {}, opts);
    this.gate = new SidekiqDrain(name, args, { parent: this });
    this.outcome = this.gate.outcome;
    this.waitedSeconds = this.gate.waitedSeconds;
    this.samples = this.gate.samples;
    this.registerOutputs({ outcome: this.outcome, waitedSeconds: this.waitedSeconds, samples: this.samples });
  }
}
