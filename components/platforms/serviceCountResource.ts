import * as pulumi from "@pulumi/pulumi";
import type { ScaledService } from "./adapter";

/**
 * A dynamic resource that both brings one service to a count and reports the counts the
 * audit trail reads (ECS, Compose). Kubernetes splits the two across a patch and a rollout.
 */
export abstract class ServiceCountResource extends pulumi.dynamic.Resource {
  // `declare`: with ES2022 class fields a plain `!` field would be reset to undefined after
  // super() has filled it with the provider's output.
  declare public readonly previousCount: pulumi.Output<number>;
  declare public readonly reachedCount: pulumi.Output<number>;

  constructor(
    provider: pulumi.dynamic.ResourceProvider,
    name: string,
    /** Inputs, plus `undefined` for every other output the provider returns. */
    props: pulumi.Inputs,
    opts: pulumi.CustomResourceOptions | undefined,
    module: string,
    type: string,
  ) {
    super(
      provider,
      name,
      { ...props, previousCount: undefined, reachedCount: undefined },
      opts,
      module,
      type,
    );
  }

  scaled(): ScaledService {
    return { resource: this, previousCount: this.previousCount, reachedCount: this.reachedCount };
  }
}
