import type * as pulumi from "@pulumi/pulumi";
import type { ServiceStep } from "../../lib/plan/plan";
import type { Phase } from "../../lib/plan/services";
import type { VersionSource } from "../../lib/window/versions";

export interface ScaleServiceOptions {
  /** The ServiceStepComponent: parent of every resource the adapter registers. */
  parent: pulumi.Resource;
  phase: Phase;
  /** How long the platform may take to reach the target before the update fails. */
  timeoutSeconds: number;
}

/** What a platform reports about one service once its step has finished. */
export interface ScaledService {
  /** The resource that scales the service; its Pulumi name is the service key. */
  resource: pulumi.Resource;
  /** The count the platform reported before this update changed it (the audit trail's "before"). */
  previousCount: pulumi.Output<number | undefined>;
  /** The count the platform reported once the step finished (the audit trail's "after"). */
  reachedCount: pulumi.Output<number>;
}

/**
 * One per platform. `scaleService` registers the resources that bring one service to
 * `step.targetCount`; they finish only when the platform reports the target reached
 * (zero running on the way down, all ready on the way up), or fail after the timeout.
 * Adapters never own or delete the workloads themselves: deleting our resources leaves
 * the service as it is.
 */
export interface PlatformAdapter {
  readonly platform: "ecs" | "kubernetes" | "compose";
  /** The platform's Pulumi provider, where it has one, for other components to reuse. */
  readonly provider?: pulumi.ProviderResource;
  /** Where the version guard reads each service's image or task definition, with the same access as the steps. */
  readonly versionSource: VersionSource;
  scaleService(step: ServiceStep, options: ScaleServiceOptions): ScaledService;
}

/** What a resource that both scales a service and reports its counts (ECS, Compose) says of it. */
export function scaledBy(
  resource: pulumi.Resource & { previousCount: pulumi.Output<number>; reachedCount: pulumi.Output<number> },
): ScaledService {
  return { resource, previousCount: resource.previousCount, reachedCount: resource.reachedCount };
}
