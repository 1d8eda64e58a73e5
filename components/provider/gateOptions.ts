import type * as pulumi from "@pulumi/pulumi";

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
