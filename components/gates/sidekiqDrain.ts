/**
 * The drain gate before tines-sidekiq stops (Pulumi name `sidekiq-drain`): finishes only
 * once Sidekiq's queues are at or under the threshold, not increasing, with no job in
 * flight, so the tines-sidekiq step that dependsOn it cannot lose work. Preview registers
 * it without touching Redis or waiting.
 */
import * as pulumi from "@pulumi/pulumi";
import { COMPONENT_TYPES } from "../../lib/plan/names";
import type { AuditSample } from "../../lib/sidekiq/gate";
import { SidekiqDrain, type SidekiqDrainArgs } from "./sidekiqDrainResource";

export type SidekiqDrainGateArgs = SidekiqDrainArgs;

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
