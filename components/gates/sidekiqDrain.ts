/**
 * The drain gate before tines-sidekiq stops (`sidekiq-drain`): finishes only once Sidekiq's
 * queues are at or under the threshold, not increasing, with no job in flight, so the
 * tines-sidekiq step that dependsOn it cannot lose work; on timeout it fails the update and
 * that step never runs. Preview registers it without touching Redis or waiting.
 */
import * as pulumi from "@pulumi/pulumi";
import { GATE_TYPES } from "../../lib/plan/names";
import type { DrainSettings, RedisSwitchMode } from "../../lib/sidekiq/config";
import { checkDrainInputs, gateDiff, runDrainGate, type DrainGateInputs } from "../../lib/sidekiq/gate";
import { defineProvider, dynamicResource, type ProviderContext } from "../provider/defineProvider";
import { defineGate, outputsOf, type PerUpdateGateArgs } from "./gate";

const TYPES = GATE_TYPES["sidekiq-drain"];

export const sidekiqDrainProvider = defineProvider({
  type: TYPES.resources.drain,
  outputs: ["outcome", "reason", "waitedSeconds", "samples", "held"],
  check: checkDrainInputs,
  diff: gateDiff,
  create: (inputs: DrainGateInputs, { reporter, signal }: ProviderContext) =>
    runDrainGate(inputs, reporter, { signal }),
  id: (outs) => `sidekiq-drain-${Date.parse(outs.finishedAt)}`,
  delete: "Waiting changed nothing, so there is nothing to undo.",
});

export class SidekiqDrainResource extends dynamicResource(sidekiqDrainProvider) {}

export interface SidekiqDrainArgs extends PerUpdateGateArgs {
  /** Where Sidekiq keeps its queues; wrapped as a secret here whatever the caller passes. */
  redisUrl: pulumi.Input<string>;
  /** redis-namespace prefix, if Tines' Sidekiq uses one. */
  namespace?: pulumi.Input<string>;
  /** Thresholds, sampling and timeout (`sidekiq.*`). */
  settings: DrainSettings;
  /** `sidekiq.onRedisSwitch` when this shutdown moves REDIS_URL, else "": what its held-jobs line says becomes of them. */
  redisSwitch?: RedisSwitchMode | "";
}

/** The provider's inputs: the URL always as a secret, absent options as "". */
export function drainGateInputs(args: SidekiqDrainArgs) {
  return {
    redisUrl: pulumi.secret(args.redisUrl),
    namespace: args.namespace ?? "",
    // The provider's re-run key (gateDiff).
    trigger: args.runId,
    redisSwitch: args.redisSwitch ?? "",
    ...args.settings,
  };
}

/** What the component registers and the audit record shows. */
const AUDITED = ["outcome", "waitedSeconds", "samples", "held"] as const;

export class SidekiqDrain extends pulumi.ComponentResource {
  public readonly resource: SidekiqDrainResource;

  constructor(name: string, args: SidekiqDrainArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TYPES.component, name, {}, opts);
    this.resource = new SidekiqDrainResource(name, drainGateInputs(args), { parent: this });
    this.registerOutputs(outputsOf(this.resource, AUDITED));
  }
}

export const sidekiqDrainGate = defineGate("sidekiq-drain", {
  register: ({ name, sidekiq, redisSwitch }, { maintenance }, opts) =>
    new SidekiqDrain(
      name,
      {
        redisUrl: pulumi.secret(sidekiq.redisUrl),
        namespace: sidekiq.namespace,
        settings: {
          intervalSeconds: sidekiq.intervalSeconds,
          windowSeconds: sidekiq.windowSeconds,
          settleSeconds: sidekiq.settleSeconds,
          maxSize: sidekiq.maxSize,
          maxBusy: sidekiq.maxBusy,
          timeoutSeconds: sidekiq.timeoutSeconds,
        },
        redisSwitch,
        runId: maintenance.startedAt,
      },
      opts,
    ),
  audit: ({ resource }) => ({ sidekiqDrain: outputsOf(resource, AUDITED) }),
});
