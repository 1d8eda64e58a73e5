/**
 * ECS: each step sets desiredCount of an existing service and finishes once ECS reports the
 * service stable at that count. The stack records the count but never owns the service.
 */
import * as pulumi from "@pulumi/pulumi";
import type { CoreConfig } from "../../lib/config";
import type { ScalableTargetBounds } from "../../lib/ecs/api";
import { DYNAMIC_TYPES } from "../../lib/names";
import { ecsServiceCountProvider } from "../providers/ecsServiceCountProvider";
import type { PlatformAdapter } from "./adapter";
import { ServiceCountResource } from "./serviceCountResource";

/** ECS's own waiter polls every 15 s; a little faster keeps each step short without throttling. */
export const ECS_POLL_SECONDS = 10;

export interface EcsServiceCountArgs {
  cluster: pulumi.Input<string>;
  service: pulumi.Input<string>;
  desiredCount: pulumi.Input<number>;
  region?: pulumi.Input<string>;
  endpoint?: pulumi.Input<string>;
  timeoutSeconds: pulumi.Input<number>;
  pollSeconds: pulumi.Input<number>;
}

export class EcsServiceCount extends ServiceCountResource {
  /** Auto scaling bounds pinned by a shutdown, until the startup puts them back. */
  declare public readonly savedBounds: pulumi.Output<ScalableTargetBounds | undefined>;

  constructor(name: string, args: EcsServiceCountArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      ecsServiceCountProvider,
      name,
      { ...args, savedBounds: undefined, scalableTarget: undefined },
      opts,
      DYNAMIC_TYPES.ecsServiceCount.module,
      DYNAMIC_TYPES.ecsServiceCount.type,
    );
  }
}

export function createEcsAdapter(ecs: CoreConfig["ecs"]): PlatformAdapter {
  return {
    platform: "ecs",
    versionSource: {
      platform: "ecs",
      cluster: ecs.cluster,
      ...(ecs.region ? { region: ecs.region } : {}),
      ...(ecs.endpoint ? { endpoint: ecs.endpoint } : {}),
    },
    scaleService(step, options) {
      return new EcsServiceCount(
        step.name,
        {
          cluster: ecs.cluster,
          service: step.workloadName,
          desiredCount: step.targetCount,
          ...(ecs.region ? { region: ecs.region } : {}),
          ...(ecs.endpoint ? { endpoint: ecs.endpoint } : {}),
          timeoutSeconds: options.timeoutSeconds,
          pollSeconds: ECS_POLL_SECONDS,
        },
        { parent: options.parent },
      ).scaled();
    },
  };
}
