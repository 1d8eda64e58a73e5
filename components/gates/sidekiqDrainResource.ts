/**
 * `sidekiq-drain`'s dynamic resource and its provider: `create` (and `update` with a new
 * run id) waits until Sidekiq has drained and records the samples; on timeout it fails the
 * update, so the tines-sidekiq step that depends on it never runs. `check` and `diff` never
 * touch Redis.
 */
import * as pulumi from "@pulumi/pulumi";
import { DYNAMIC_TYPES } from "../../lib/plan/names";
import type { DrainSettings } from "../../lib/sidekiq/config";
import { checkDrainInputs, gateDiff, runDrainGate, type AuditSample } from "../../lib/sidekiq/gate";
import { gateProvider } from "../provider/gateProvider";
import { type PerUpdateGateArgs } from "../provider/gateOptions";
import { MaintenanceResource } from "../provider/maintenanceResource";

export const sidekiqDrainProvider = gateProvider({
  check: checkDrainInputs,
  diff: gateDiff,
  run: runDrainGate,
  id: (outs) => `sidekiq-drain-${Date.parse(outs.finishedAt)}`,
  keptOnDelete: "Waiting changed nothing, so there is nothing to undo.",
});

export interface SidekiqDrainArgs extends PerUpdateGateArgs {
  /** Where Sidekiq keeps its queues; wrapped as a secret here whatever the caller passes. */
  redisUrl: pulumi.Input<string>;
  /** redis-namespace prefix, if Tines' Sidekiq uses one. */
  namespace?: pulumi.Input<string>;
  /** Thresholds, sampling and timeout (`sidekiq.*`). */
  settings: DrainSettings;
}

/** The provider's inputs: the URL always as a secret, absent options as "". */
export function drainGateInputs(args: SidekiqDrainArgs) {
  return {
    redisUrl: pulumi.secret(args.redisUrl),
    namespace: args.namespace ?? "",
    // The provider's re-run key (gateDiff).
    trigger: args.runId,
    ...args.settings,
  };
}

export class SidekiqDrain extends MaintenanceResource {
  declare public readonly outcome: pulumi.Output<string>;
  declare public readonly reason: pulumi.Output<string>;
  declare public readonly waitedSeconds: pulumi.Output<number>;
  declare public readonly samples: pulumi.Output<AuditSample[]>;

  constructor(name: string, args: SidekiqDrainArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      sidekiqDrainProvider,
      DYNAMIC_TYPES.sidekiqDrain,
      name,
      drainGateInputs(args),
      ["outcome", "reason", "waitedSeconds", "samples"],
      opts,
    );
  }
}
