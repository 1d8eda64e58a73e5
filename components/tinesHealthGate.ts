/**
 * The last gate of a startup (Pulumi name `tines-health`): waits until Tines reports healthy
 * through `health.url`. Its `healthyAt` closes the downtime record the window opened.
 */
import * as pulumi from "@pulumi/pulumi";
import type { HealthConfig } from "../lib/health/config";
import { tinesHealthProvider } from "./providers/tinesHealthProvider";

export interface TinesHealthGateArgs {
  /** `health.*`; the URL is wrapped as a secret here (it may carry credentials). */
  health: HealthConfig;
  /** From the MaintenanceWindow: the gate waits again only in a new window. */
  windowStartedAt: pulumi.Input<string>;
}

class TinesHealthCheck extends pulumi.dynamic.Resource {
  declare readonly target: pulumi.Output<string>;
  declare readonly healthyAt: pulumi.Output<string>;
  declare readonly waitedSeconds: pulumi.Output<number>;
  declare readonly status: pulumi.Output<string>;

  constructor(name: string, inputs: pulumi.Inputs, opts: pulumi.CustomResourceOptions) {
    super(
      tinesHealthProvider,
      name,
      { target: undefined, healthyAt: undefined, waitedSeconds: undefined, status: undefined, ...inputs },
      opts,
      "tines",
      "Health",
    );
  }
}

export class TinesHealthGate extends pulumi.ComponentResource {
  /** The URL waited on, without credentials. */
  public readonly target: pulumi.Output<string>;
  /** ISO time of Tines' first healthy answer. */
  public readonly healthyAt: pulumi.Output<string>;
  public readonly waitedSeconds: pulumi.Output<number>;
  /** Tines' healthy answer, e.g. `HTTP 200`. */
  public readonly status: pulumi.Output<string>;

  constructor(name: string, args: TinesHealthGateArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("tines-maintenance:index:TinesHealthGate", name, {}, opts);
    const { health } = args;
    const resource = new TinesHealthCheck(
      name,
      {
        url: pulumi.secret(health.url),
        timeoutSeconds: health.timeoutSeconds,
        intervalSeconds: health.intervalSeconds,
        windowStartedAt: args.windowStartedAt,
      },
      // Longer than the gate's own timeout, so the gate's message is the one the operator sees.
      {
        parent: this,
        customTimeouts: {
          create: `${health.timeoutSeconds + 120}s`,
          update: `${health.timeoutSeconds + 120}s`,
        },
      },
    );
    this.target = resource.target;
    this.healthyAt = resource.healthyAt;
    this.waitedSeconds = resource.waitedSeconds;
    this.status = resource.status;
    this.registerOutputs({
      target: this.target,
      healthyAt: this.healthyAt,
      waitedSeconds: this.waitedSeconds,
      status: this.status,
    });
  }
}
