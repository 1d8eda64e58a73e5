import * as pulumi from "@pulumi/pulumi";
import type { DynamicType } from "../../lib/names";
import type { ScaledService } from "../platforms/adapter";

/**
 * A dynamic resource that both brings one service to a count and reports the counts the
 * audit trail reads (ECS, Compose). Kubernetes splits the two across a patch and a rollout.
 * Same shape as GateResource: the type token from lib/names.ts, every output starting undefined.
 */
export abstract class ServiceCountResource extends pulumi.dynamic.Resource {
  // `declare`: with ES2022 class fields a plain `!` field would be reset to undefined after
  // super() has filled it with the provider's output.
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
    super(
      provider,
      name,
      {
        ...Object.fromEntries(["previousCount", "reachedCount", ...outputs].map((key) => [key, undefined])),
        ...inputs,
      },
      opts,
      dynamicType.module,
      dynamicType.type,
    );
  }

  scaled(): ScaledService {
    return { resource: this, previousCount: this.previousCount, reachedCount: this.reachedCount };
  }
}
