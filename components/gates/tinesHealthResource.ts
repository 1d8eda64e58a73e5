/**
 * `tines-health`'s dynamic resource and its provider: `create` (and `update` in a new
 * window) waits until Tines reports healthy, and fails the update after the timeout.
 * Starts and stops nothing.
 */
import * as pulumi from "@pulumi/pulumi";
import type { HealthConfig } from "../../lib/health/config";
import { checkHealthInputs, healthDiff, runHealthGate } from "../../lib/health/gate";
import { DYNAMIC_TYPES } from "../../lib/plan/names";
import { gateProvider } from "../provider/gateProvider";
import { beyondGateTimeout } from "../provider/gateOptions";
import { MaintenanceResource } from "../provider/maintenanceResource";

export const tinesHealthProvider = gateProvider({
  check: checkHealthInputs,
  diff: healthDiff,
  run: runHealthGate,
  id: (outs) => `tines-health-${Date.parse(outs.healthyAt)}`,
  keptOnDelete: "Waiting changed nothing: there is nothing to undo.",
});

export interface TinesHealthCheckArgs {
  /** `health.*`; the URL is wrapped as a secret here (it may carry credentials). */
  health: HealthConfig;
  /** From the MaintenanceWindow: the gate waits again only in a new window. */
  windowStartedAt: pulumi.Input<string>;
}

export class TinesHealthCheck extends MaintenanceResource {
  /** The URL waited on, without credentials. */
  declare readonly target: pulumi.Output<string>;
  /** ISO time of Tines' first healthy answer. */
  declare readonly healthyAt: pulumi.Output<string>;
  declare readonly waitedSeconds: pulumi.Output<number>;
  /** Tines' healthy answer, e.g. `HTTP 200`. */
  declare readonly status: pulumi.Output<string>;

  constructor(name: string, args: TinesHealthCheckArgs, opts: pulumi.CustomResourceOptions = {}) {
    const { health } = args;
    super(
      tinesHealthProvider,
      DYNAMIC_TYPES.tinesHealth,
      name,
      {
        url: pulumi.secret(health.url),
        timeoutSeconds: health.timeoutSeconds,
        intervalSeconds: health.intervalSeconds,
        windowStartedAt: args.windowStartedAt,
      },
      ["target", "healthyAt", "waitedSeconds", "status"],
      { ...opts, customTimeouts: beyondGateTimeout(health.timeoutSeconds) },
    );
  }
}
