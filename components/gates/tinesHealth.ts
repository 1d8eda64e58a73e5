/**
 * The last gate of a startup (Pulumi name `tines-health`): waits until Tines reports healthy
 * through `health.url`. Its `healthyAt` closes the downtime record the window opened.
 */
import * as pulumi from "@pulumi/pulumi";
import { COMPONENT_TYPES } from "../../lib/plan/names";
import { TinesHealthCheck, type TinesHealthCheckArgs } from "./tinesHealthResource";

export type TinesHealthGateArgs = TinesHealthCheckArgs;

export class TinesHealthGate extends pulumi.ComponentResource {
  /** The URL waited on, without credentials. */
  public readonly target: pulumi.Output<string>;
  /** ISO time of Tines' first healthy answer. */
  public readonly healthyAt: pulumi.Output<string>;
  public readonly waitedSeconds: pulumi.Output<number>;
  /** Tines' healthy answer, e.g. `HTTP 200`. */
  public readonly status: pulumi.Output<string>;

  constructor(name: string, args: TinesHealthGateArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(COMPONENT_TYPES.tinesHealthGate, name, {}, opts);
    const resource = new TinesHealthCheck(name, args, { parent: this });
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
