import type * as pulumi from "@pulumi/pulumi";
import type { DynamicType } from "../../lib/plan/names";
import type { ScaledService } from "./adapter";
import { MaintenanceResource } from "../provider/maintenanceResource";

/**
 * A dynamic resource that both brings one service to a count and reports the counts the
 * audit trail reads (ECS, Compose). Kubernetes splits the two across a patch and a rollout.
 */
export abstract class ServiceCountResource extends MaintenanceResource {
  declare public readonly previousCount: pulumi.Output<number>;
  declare public readonly reachedCount: pulumi.Output<number>;

  constructor(
    provider: pulumi.dynamic.ResourceProvider,
    dynamicType: DynamicType,
    name: string,
    /** The provider's inputs; an input of the same name as an output wins. */
    inputs: pulumi.Inputs,
    /** The outputs the provider returns besides the counts. */
    outputs: readonly string[],
    opts: pulumi.CustomResourceOptions | undefined,
  ) {
    super(provider, dynamicType, name, inputs, ["previousCount", "reachedCount", ...outputs], opts);
  }

  scaled(): ScaledService {
    return { resource: this, previousCount: this.previousCount, reachedCount: this.reachedCount };
  }
}
