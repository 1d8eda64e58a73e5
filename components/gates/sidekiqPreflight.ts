/**
 * The shutdown pre-flight (`sidekiq-preflight`): samples the Sidekiq queue before anything is
 * scaled down and, when it is non-zero and not falling, tells the operator to scale
 * tines-sidekiq up first (`warn`) or refuses the update (`refuse`). `check` and `diff` never
 * touch Redis.
 */
import * as pulumi from "@pulumi/pulumi";
import { GATE_TYPES } from "../../lib/plan/names";
import type { PreflightMode, RedisSwitchMode } from "../../lib/sidekiq/config";
import { checkPreflightInputs, gateDiff, runPreflight, type PreflightInputs } from "../../lib/sidekiq/gate";
import { defineProvider, dynamicResource, type ProviderContext } from "../provider/defineProvider";
import { defineGate, outputsOf, type PerUpdateGateArgs } from "./gate";

const TYPES = GATE_TYPES["sidekiq-preflight"];

export const sidekiqPreflightProvider = defineProvider({
  type: TYPES.resources.check,
  outputs: ["outcome", "reason", "samples", "held"],
  check: checkPreflightInputs,
  diff: gateDiff,
  create: (inputs: PreflightInputs, { reporter, signal }: ProviderContext) =>
    runPreflight(inputs, reporter, { signal }),
  id: (outs) => `sidekiq-preflight-${Date.parse(outs.startedAt)}`,
  delete: "Sampling changed nothing, so there is nothing to undo.",
});

export class SidekiqPreflightResource extends dynamicResource(sidekiqPreflightProvider) {}

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
  /** `sidekiq.onRedisSwitch` when this shutdown moves REDIS_URL, else "": what its held-jobs line says becomes of them. */
  redisSwitch?: RedisSwitchMode | "";
}

/** The provider's inputs: the URL always as a secret, absent options as "". */
export function preflightInputs(args: SidekiqPreflightArgs) {
  const { runId, ...settings } = args;
  return {
    ...settings,
    redisUrl: pulumi.secret(args.redisUrl),
    namespace: args.namespace ?? "",
    redisSwitch: args.redisSwitch ?? "",
    // The provider's re-run key (gateDiff).
    trigger: runId,
  };
}

export class SidekiqPreflight extends pulumi.ComponentResource {
  public readonly resource: SidekiqPreflightResource;

  constructor(name: string, args: SidekiqPreflightArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TYPES.component, name, {}, opts);
    this.resource = new SidekiqPreflightResource(name, preflightInputs(args), { parent: this });
    this.registerOutputs(outputsOf(this.resource, ["outcome", "reason", "samples", "held"]));
  }
}

export const sidekiqPreflightGate = defineGate("sidekiq-preflight", {
  register: ({ name, sidekiq, redisSwitch }, { maintenance }, opts) =>
    new SidekiqPreflight(
      name,
      {
        redisUrl: pulumi.secret(sidekiq.redisUrl),
        namespace: sidekiq.namespace,
        mode: sidekiq.preflight,
        preflightSeconds: sidekiq.preflightSeconds,
        intervalSeconds: sidekiq.intervalSeconds,
        windowSeconds: sidekiq.windowSeconds,
        maxSize: sidekiq.maxSize,
        redisSwitch,
        runId: maintenance.startedAt,
      },
      opts,
    ),
  audit: ({ resource }) => ({ sidekiqPreflight: outputsOf(resource, ["outcome", "samples", "held"]) }),
});
