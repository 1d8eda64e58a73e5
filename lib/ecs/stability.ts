/**
 * When an ECS service has reached its desired count. Mirrors the AWS CLI's `services-stable`
 * waiter (one deployment, running == desired) and adds what a maintenance step also needs:
 * nothing pending, the service still ACTIVE, and a FAILED rollout reported as a failure rather
 * than waited out.
 */
import type { DescribeServicesCommandOutput, Service } from "@aws-sdk/client-ecs";

export interface ServiceCounts {
  desired: number;
  running: number;
  pending: number;
  deployments: number;
  status: string;
  rolloutState?: string;
}

export type ServiceState =
  | { kind: "stable"; counts: ServiceCounts }
  | { kind: "waiting"; counts: ServiceCounts; reason: string }
  | { kind: "failed"; counts?: ServiceCounts; reason: string };

export function serviceCounts(service: Service): ServiceCounts {
  const primary = service.deployments?.find((d) => d.status === "PRIMARY");
  return {
    desired: service.desiredCount ?? 0,
    running: service.runningCount ?? 0,
    pending: service.pendingCount ?? 0,
    deployments: service.deployments?.length ?? 0,
    status: service.status ?? "UNKNOWN",
    ...(primary?.rolloutState ? { rolloutState: primary.rolloutState } : {}),
  };
}

export function formatCounts(c: ServiceCounts): string {
  return `running ${c.running}/${c.desired}, pending ${c.pending}, ${c.deployments} deployment${c.deployments === 1 ? "" : "s"}`;
}

/** The one service a DescribeServices call for a single service returned, or why there is none. */
export function singleService(response: DescribeServicesCommandOutput): Service | { missing: string } {
  const service = response.services?.[0];
  if (service) return service;
  const failure = response.failures?.[0];
  return {
    missing: failure ? `${failure.reason ?? "MISSING"} (${failure.arn ?? "unknown ARN"})` : "not returned",
  };
}

/**
 * The deployment's own rolloutState and counts are not trusted for "done": a change of
 * desiredCount alone starts no new deployment, so they can lag behind the service (the moto
 * emulator never updates them at all). Only FAILED is acted on.
 */
export function serviceState(response: DescribeServicesCommandOutput): ServiceState {
  const service = singleService(response);
  if ("missing" in service) return { kind: "failed", reason: `service not found: ${service.missing}` };
  const counts = serviceCounts(service);
  if (counts.status !== "ACTIVE")
    return { kind: "failed", counts, reason: `service status is ${counts.status}` };
  if (counts.rolloutState === "FAILED") {
    const primary = service.deployments?.find((d) => d.status === "PRIMARY");
    return {
      kind: "failed",
      counts,
      reason: `deployment failed: ${primary?.rolloutStateReason ?? "no reason given"}`,
    };
  }
  if (counts.deployments > 1) return { kind: "waiting", counts, reason: "a deployment is still in progress" };
  if (counts.deployments === 1 && !service.deployments?.some((d) => d.status === "PRIMARY")) {
    return { kind: "waiting", counts, reason: "no PRIMARY deployment" };
  }
  if (counts.running !== counts.desired)
    return { kind: "waiting", counts, reason: "running count differs from desired" };
  if (counts.pending !== 0) return { kind: "waiting", counts, reason: "tasks still pending" };
  return { kind: "stable", counts };
}

export function isServiceStable(response: DescribeServicesCommandOutput): boolean {
  return serviceState(response).kind === "stable";
}
