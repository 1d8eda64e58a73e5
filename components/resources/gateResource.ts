import * as pulumi from "@pulumi/pulumi";
import type { DynamicType } from "../../lib/names";

/**
 * The dynamic resource of a gate, as ServiceCountResource is for service counts: its type
 * token comes from lib/names.ts, and every output the provider returns starts undefined so
 * the SDK knows it. `timed` adds `startedAt` / `finishedAt` to every gate's outputs.
 */
export abstract class GateResource extends pulumi.dynamic.Resource {
  // `declare`: a plain field would be reset to undefined after super() has filled it.
  declare public readonly startedAt: pulumi.Output<string>;
  declare public readonly finishedAt: pulumi.Output<string>;

  constructor(
    provider: pulumi.dynamic.ResourceProvider,
    dynamicType: DynamicType,
    name: string,
    /** The provider's inputs; an input of the same name as an output wins. */
    inputs: pulumi.Inputs,
    /** The other outputs the provider returns. */
    outputs: readonly string[],
    opts: pulumi.CustomResourceOptions | undefined,
  ) {
    super(
      provider,
      name,
      { ...Object.fromEntries(outputs.map((key) => [key, undefined])), ...inputs },
      opts,
      dynamicType.module,
      dynamicType.type,
    );
  }
}

/** Args of a gate that runs again in every update (a retried `pulumi up` included). */
export interface PerUpdateGateArgs {
  /**
   * The update this run belongs to: the program passes the update's start time, and the
   * provider compares it as `trigger` in `diff`. A gate's pass (a drained queue, a dump taken
   * once the app was down) holds only for the update in which it ran, right before the step
   * it guards, so a retry runs the gate again instead of trusting a pass from before Sidekiq
   * or the app could have been started again.
   */
  runId: pulumi.Input<string>;
}

/** Longer than a gate's own timeout, so that the gate's message is the one the operator sees. */
export function beyondGateTimeout(timeoutSeconds: number): pulumi.CustomTimeouts {
  return { create: `${timeoutSeconds + 120}s`, update: `${timeoutSeconds + 120}s` };
}
