/**
 * One ECS maintenance step: set the desired count of an existing service and wait until ECS
 * reports it stable at that count. The service itself is never created or deleted here.
 *
 * An Application Auto Scaling target would undo a desired count outside its bounds (scale a
 * service at 0 back up to its minimum), so a count outside the live bounds pins the bounds to
 * the count first; the original bounds are handed back to the caller to keep in state, and put
 * back together with a count inside them once the service has reached it.
 */
import { abortReason } from "../deadline";
import { MaintenanceError } from "../errors";
import { formatSeconds, quietProgress, realClock, type Clock, type ProgressReporter } from "../progress";
import type { EcsApi, ScalableTargetBounds } from "./api";
import { formatCounts, serviceState, singleService, type ServiceState } from "./stability";

export interface EcsScaleRequest {
  cluster: string;
  service: string;
  desiredCount: number;
  timeoutSeconds: number;
  /** Seconds between DescribeServices calls. */
  pollSeconds: number;
  /** Auto scaling bounds an earlier step pinned and saved (from the resource's previous state). */
  savedBounds?: ScalableTargetBounds;
  /** Aborts the wait (the engine that asked for the step has gone); the count already set stays. */
  signal?: AbortSignal;
}

export interface EcsScaleResult {
  /** desiredCount as ECS reported it before this step changed it. */
  previousCount: number;
  /** desiredCount (== runningCount) once the service was stable. */
  reachedCount: number;
  /** Bounds to keep in state while they are pinned; undefined once they are back (or were never touched). */
  savedBounds?: ScalableTargetBounds;
  /** The live auto scaling bounds after the step, if a target exists. */
  scalableTarget?: ScalableTargetBounds;
}

const within = (count: number, b: ScalableTargetBounds) => count >= b.minCapacity && count <= b.maxCapacity;

export async function scaleEcsService(
  api: EcsApi,
  request: EcsScaleRequest,
  reporter: ProgressReporter,
  clock: Clock = realClock,
): Promise<EcsScaleResult> {
  const { cluster, service, desiredCount } = request;
  const label = `ECS service "${service}" (cluster ${cluster})`;
  const before = singleService(await api.describeService(cluster, service));
  if ("missing" in before) {
    throw new MaintenanceError(
      `${label}: ${before.missing}; the service must already exist (check ecs.cluster and services.<key>.name)`,
    );
  }
  if (before.status !== "ACTIVE")
    throw new MaintenanceError(`${label}: status is ${before.status}, expected ACTIVE`);
  const previousCount = before.desiredCount ?? 0;

  let liveBounds = await api.describeScalableTarget(cluster, service);
  let savedBounds = request.savedBounds;
  if (liveBounds && !within(desiredCount, liveBounds)) {
    savedBounds ??= liveBounds;
    liveBounds = { minCapacity: desiredCount, maxCapacity: desiredCount };
    reporter.info(
      `${label}: auto scaling bounds ${savedBounds.minCapacity}-${savedBounds.maxCapacity} pinned to ${desiredCount} until the service is restored`,
    );
    await api.setScalableTargetBounds(cluster, service, liveBounds);
  }

  if (previousCount !== desiredCount) {
    reporter.info(`${label}: desired count ${previousCount} -> ${desiredCount}`);
    await api.setDesiredCount(cluster, service, desiredCount);
  }

  const state = await waitUntilStable(api, request, label, reporter, clock);

  if (liveBounds && savedBounds && within(desiredCount, savedBounds)) {
    await api.setScalableTargetBounds(cluster, service, savedBounds);
    reporter.info(
      `${label}: auto scaling bounds ${savedBounds.minCapacity}-${savedBounds.maxCapacity} restored`,
    );
    liveBounds = savedBounds;
    savedBounds = undefined;
  }
  return {
    previousCount,
    reachedCount: state.counts.running,
    ...(savedBounds ? { savedBounds } : {}),
    ...(liveBounds ? { scalableTarget: liveBounds } : {}),
  };
}

async function waitUntilStable(
  api: EcsApi,
  request: EcsScaleRequest,
  label: string,
  reporter: ProgressReporter,
  clock: Clock,
): Promise<Extract<ServiceState, { kind: "stable" }>> {
  const deadline = clock.now() + request.timeoutSeconds * 1000;
  const progress = quietProgress(reporter, clock);
  let last: ServiceState | undefined;
  for (;;) {
    let state = serviceState(await api.describeService(request.cluster, request.service));
    if (state.kind === "stable" && state.counts.desired !== request.desiredCount) {
      state = {
        kind: "waiting",
        counts: state.counts,
        reason: `desired count is ${state.counts.desired}, not ${request.desiredCount} (changed by something else, e.g. auto scaling)`,
      };
    }
    if (state.kind === "stable") return state;
    if (state.kind === "failed") throw new MaintenanceError(`${label}: ${state.reason}`);
    last = state;
    const left = (deadline - clock.now()) / 1000;
    if (left <= 0 || request.signal?.aborted) {
      const why = request.signal?.aborted
        ? `stopped waiting to become stable: ${abortReason(request.signal)}`
        : `did not become stable at desired count ${request.desiredCount} within ${formatSeconds(request.timeoutSeconds)}`;
      throw new MaintenanceError(`${label} ${why}: ` + `last ${formatCounts(last.counts)} (${last.reason})`);
    }
    const line = `${label}: ${formatCounts(state.counts)}, waiting for ${request.desiredCount}`;
    progress(line, `${line} (${state.reason}); ${formatSeconds(left)} left`);
    await clock.sleep(
      Math.min(request.pollSeconds * 1000, Math.max(0, deadline - clock.now())),
      request.signal,
    );
  }
}
