/**
 * The shutdown pre-flight (Pulumi name `sidekiq-preflight`): samples the Sidekiq queue
 * before anything is scaled down and, when it is non-zero and not falling, tells the
 * operator to scale tines-sidekiq up first (`warn`) or refuses the update (`refuse`).
 */
import * as pulumi from "@pulumi/pulumi";
import { COMPONENT_TYPES } from "../../lib/plan/names";
import type { AuditSample } from "../../lib/sidekiq/gate";
import { SidekiqPreflightCheck, type SidekiqPreflightArgs } from "./sidekiqPreflightResource";

export type { SidekiqPreflightArgs };

export class SidekiqPreflight extends pulumi.ComponentResource {
  public readonly check: SidekiqPreflightCheck;
  public readonly outcome: pulumi.Output<string>;
  public readonly reason: pulumi.Output<string>;
  public readonly samples: pulumi.Output<AuditSample[]>;

  constructor(name: string, args: SidekiqPreflightArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TYPES.sidekiqPreflight, name, {}, opts);
    this.check = new SidekiqPreflightCheck(name, args, { parent: this });
    this.outcome = this.check.outcome;
    this.reason = this.check.reason;
    this.samples = this.check.samples;
    this.registerOutputs({ outcome: this.outcome, reason: this.reason, samples: this.samples });
  }
}
