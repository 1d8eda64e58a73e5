/**
 * ECS: each step sets desiredCount of an existing service and finishes once ECS reports the
 * service stable at that count. The stack records the count but never owns the service.
 */
import type { CoreConfig } from "../../lib/config/core";
import { EcsServiceCount } from "./ecsServiceCount";
import { scaledBy, type PlatformAdapter } from "./adapter";

/** ECS's own waiter polls every 15 s; a little faster keeps each step short without throttling. */
export const ECS_POLL_SECONDS = 10;

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
      return scaledBy(
        new EcsServiceCount(
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
        ),
      );
    },
  };
}
