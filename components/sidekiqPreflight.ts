/**
 * The shutdown pre-flight (Pulumi name `sidekiq-preflight`): samples the Sidekiq queue
 * before anything is scaled down and, when it is non-zero and not falling, tells the
 * operator to scale tines-sidekiq up first (`warn`) or refuses the update (`refuse`).
 */
import * as pulumi from "@pulumi/pulumi";
import type { PreflightMode } from "../lib/sidekiq/config";
import type { AuditSample } from "../lib/sidekiq/gate";
import { sidekiqPreflightProvider } from "./providers/sidekiqPreflightProvider";

export interface SidekiqPreflightArgs {
  redisUrl: pulumi.Input<string>;
  namespace?: pulumi.Input<string>;
  mode: PreflightMode;
  /** How long to sample; 0 takes one sample. */
  preflightSeconds: number;
  intervalSeconds: number;
  /** Scheduled jobs and retries due within this many seconds count as queued. */
  windowSeconds: number;
  maxSize: number;
  /**
   * The update this run belongs to (index.ts: the update's start time). A gate's pass
   * holds only for the update in which it ran, right before the step it guards: every
   * update brings a new value, so a retry runs the gate again instead of trusting a pass
   * from before Sidekiq or the app could have been started again.
   */
  runId: pulumi.Input<string>;
}

/** The provider's inputs: the URL always as a secret, absent options as "". */
export function preflightInputs(args: SidekiqPreflightArgs) {
  const { runId, ...settings } = args;
  return {
    ...settings,
    redisUrl: pulumi.secret(args.redisUrl),
    namespace: args.namespace ?? "",
    // The provider's re-run key (gateDiff).
    trigger: runId,
  };
}

export class SidekiqPreflightCheck extends pulumi.dynamic.Resource {
  declare public readonly outcome: pulumi.Output<string>;
  declare public readonly reason: pulumi.Output<string>;
  declare public readonly samples: pulumi.Output<AuditSample[]>;

  constructor(name: string, args: SidekiqPreflightArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      sidekiqPreflightProvider,
      name,
      {
        ...preflightInputs(args),
        outcome: undefined,
        reason: undefined,
        samples: undefined,
      },
      opts,
      "sidekiq",
      "Preflight",
    );
  }
}

export class SidekiqPreflight extends pulumi.ComponentResource {
  public readonly check: SidekiqPreflightCheck;
  public readonly outcome: pulumi.Output<string>;
  public readonly reason: pulumi.Output<string>;
  public readonly samples: pulumi.Output<AuditSample[]>;

  constructor(name: string, args: SidekiqPreflightArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tines-maintenance:index:SidekiqPreflight", name, {}, opts);
    this.check = new SidekiqPreflightCheck(name, args, { parent: this });
    this.outcome = this.check.outcome;
    this.reason = this.check.reason;
    this.samples = this.check.samples;
    this.registerOutputs({ outcome: this.outcome, reason: this.reason, samples: this.samples });
  }
}
