/**
 * `sidekiq-preflight`'s dynamic resource and its provider: at the start of a shutdown it
 * samples the Sidekiq queue and warns, or refuses the update, when the queue is non-zero
 * and not falling. `check` and `diff` never touch Redis.
 */
import * as pulumi from "@pulumi/pulumi";
import { DYNAMIC_TYPES } from "../../lib/plan/names";
import type { PreflightMode } from "../../lib/sidekiq/config";
import { checkPreflightInputs, gateDiff, runPreflight, type AuditSample } from "../../lib/sidekiq/gate";
import { gateProvider } from "../provider/gateProvider";
import { type PerUpdateGateArgs } from "../provider/gateOptions";
import { MaintenanceResource } from "../provider/maintenanceResource";

export const sidekiqPreflightProvider = gateProvider({
  check: checkPreflightInputs,
  diff: gateDiff,
  run: runPreflight,
  id: (outs) => `sidekiq-preflight-${Date.parse(outs.startedAt)}`,
  keptOnDelete: "Sampling changed nothing, so there is nothing to undo.",
});

export interface SidekiqPreflightArgs extends PerUpdateGateArgs {
  /** Where Sidekiq keeps its queues; wrapped as a secret here whatever the caller passes. */
  redisUrl: pulumi.Input<string>;
  /** redis-namespace prefix, if Tines' Sidekiq uses one. */
  namespace?: pulumi.Input<string>;
  /** `sidekiq.preflight`: warn, refuse or off. */
  mode: PreflightMode;
  /** How long to sample; 0 takes one sample. */
  preflightSeconds: number;
  /** Seconds between two samples. */
  intervalSeconds: number;
  /** Scheduled jobs and retries due within this many seconds count as queued. */
  windowSeconds: number;
  /** The queue size that counts as drained. */
  maxSize: number;
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

export class SidekiqPreflightCheck extends MaintenanceResource {
  declare public readonly outcome: pulumi.Output<string>;
  declare public readonly reason: pulumi.Output<string>;
  declare public readonly samples: pulumi.Output<AuditSample[]>;

  constructor(name: string, args: SidekiqPreflightArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      sidekiqPreflightProvider,
      DYNAMIC_TYPES.sidekiqPreflight,
      name,
      preflightInputs(args),
      ["outcome", "reason", "samples"],
      opts,
    );
  }
}
