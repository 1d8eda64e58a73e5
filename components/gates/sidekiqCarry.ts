/**
 * The carry of Sidekiq's data at a Redis move (`sidekiq-carry`): in a shutdown that changes
 * `endpoints.redisUrl`, once the last Sidekiq writer is at 0 and before the backup, the data
 * stores and the endpoint switch, copies `schedule`, `retry`, `dead` and the queues from the
 * old Redis to the new one and verifies them on both sides (lib/sidekiq/carryGate.ts); with
 * `sidekiq.onRedisSwitch: discard` it records what stays behind. Its read-only pre-check runs
 * earlier, in the window record before the first stop (./maintenanceWindow.ts). `check` and
 * `diff` never touch Redis. It runs in every update: a retry finds what an earlier run carried
 * identical on both sides, writes nothing and verifies it again.
 */
import * as pulumi from "@pulumi/pulumi";
import { GATE_TYPES } from "../../lib/plan/names";
import type { RedisSwitchMode } from "../../lib/sidekiq/config";
import { carryDiff, checkCarryInputs, runCarryGate, type CarryGateInputs } from "../../lib/sidekiq/carryGate";
import { defineProvider, dynamicResource, type ProviderContext } from "../provider/defineProvider";
import { defineGate, outputsOf, type PerUpdateGateArgs } from "./gate";

const TYPES = GATE_TYPES["sidekiq-carry"];

/** What the component registers and the audit record shows (`maint report` reads it). */
const AUDITED = [
  "from",
  "to",
  "mode",
  "outcome",
  "summary",
  "held",
  "carried",
  "written",
  "leftBehind",
  "method",
  "warnings",
  "seconds",
  "finishedAt",
] as const;

export const sidekiqCarryProvider = defineProvider({
  type: TYPES.resources.carry,
  // What the audit shows, and the queues the old Redis held.
  outputs: [...AUDITED, "queues"],
  check: checkCarryInputs,
  diff: carryDiff,
  create: (inputs: CarryGateInputs, { reporter, signal }: ProviderContext) =>
    runCarryGate(inputs, reporter, { signal }),
  id: (outs) => `sidekiq-carry-${Date.parse(outs.finishedAt)}`,
  delete: "The carry only read the old Redis and added Sidekiq's keys to the new one: both stay as they are.",
});

export class SidekiqCarryResource extends dynamicResource(sidekiqCarryProvider) {}

export interface SidekiqCarryArgs extends PerUpdateGateArgs {
  /** The Redis Tines leaves (`sidekiq.redisUrl`); wrapped as a secret here whatever the caller passes. */
  fromUrl: pulumi.Input<string>;
  /** The Redis Tines moves to (`endpoints.redisUrl`); wrapped as a secret here. */
  toUrl: pulumi.Input<string>;
  /** redis-namespace prefix, if Tines' Sidekiq uses one. */
  namespace?: pulumi.Input<string>;
  /** `sidekiq.onRedisSwitch`: carry or discard. */
  mode: RedisSwitchMode;
}

/** The provider's inputs: both URLs always as secrets, no namespace as "". */
export function carryGateInputs(args: SidekiqCarryArgs) {
  return {
    fromUrl: pulumi.secret(args.fromUrl),
    toUrl: pulumi.secret(args.toUrl),
    namespace: args.namespace ?? "",
    mode: args.mode,
    // The provider's re-run key (carryDiff).
    trigger: args.runId,
  };
}

export class SidekiqCarry extends pulumi.ComponentResource {
  public readonly resource: SidekiqCarryResource;

  constructor(name: string, args: SidekiqCarryArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TYPES.component, name, {}, opts);
    this.resource = new SidekiqCarryResource(name, carryGateInputs(args), { parent: this });
    this.registerOutputs(outputsOf(this.resource, AUDITED));
  }
}

export const sidekiqCarryGate = defineGate("sidekiq-carry", {
  register: ({ name, sidekiq, newRedisUrl }, { maintenance }, opts) =>
    new SidekiqCarry(
      name,
      {
        fromUrl: pulumi.secret(sidekiq.redisUrl),
        toUrl: pulumi.secret(newRedisUrl),
        namespace: sidekiq.namespace,
        mode: sidekiq.onRedisSwitch,
        runId: maintenance.startedAt,
      },
      opts,
    ),
  audit: ({ resource }) => ({ sidekiqCarry: outputsOf(resource, AUDITED) }),
});
