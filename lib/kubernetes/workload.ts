/**
 * Pure reading of Kubernetes API objects: when a scaled Deployment/StatefulSet has really
 * reached its target, which HPA drives it, and whether Sidekiq's pods get enough time to
 * stop. No I/O here, so every condition is tested on recorded API objects.
 */
import type { WorkloadKind } from "../plan/services";

export interface LabelSelectorRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

/** The fields of an apps/v1 Deployment or StatefulSet this program reads. */
export interface Workload {
  kind?: string;
  metadata: { name: string; namespace?: string; generation?: number };
  spec: {
    replicas?: number;
    selector: LabelSelector;
    template?: {
      spec?: { terminationGracePeriodSeconds?: number; containers?: Array<{ name: string; image?: string }> };
    };
    /** StatefulSet only (a Deployment's `strategy` is not read). */
    updateStrategy?: { type?: "RollingUpdate" | "OnDelete"; rollingUpdate?: { partition?: number } };
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    readyReplicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    currentRevision?: string;
    updateRevision?: string;
  };
}

export interface Pod {
  metadata: { name: string; deletionTimestamp?: string };
  status?: { phase?: string };
}

export interface HorizontalPodAutoscaler {
  metadata: { name: string };
  spec: {
    scaleTargetRef: { kind: string; name: string; apiVersion?: string };
    minReplicas?: number;
    maxReplicas: number;
  };
}

/** Kubernetes' own default when a pod template leaves terminationGracePeriodSeconds unset. */
export const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30;
/** Sidekiq's default `-t` shutdown timeout. */
export const SIDEKIQ_SHUTDOWN_TIMEOUT_SECONDS = 25;
/** Time Sidekiq needs after its timeout to push unfinished jobs back to Redis and exit. */
export const SIDEKIQ_SHUTDOWN_MARGIN_SECONDS = 5;

/** A selector as the `labelSelector` query parameter spells it. */
export function selectorString(selector: LabelSelector): string {
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const req of selector.matchExpressions ?? []) {
    const values = (req.values ?? []).join(",");
    if (req.operator === "In") parts.push(`${req.key} in (${values})`);
    else if (req.operator === "NotIn") parts.push(`${req.key} notin (${values})`);
    else if (req.operator === "Exists") parts.push(req.key);
    else parts.push(`!${req.key}`);
  }
  // An empty selector would match every pod in the namespace: never wait on that.
  if (parts.length === 0) throw new Error("workload has an empty pod selector");
  return parts.join(",");
}

/**
 * Pods that still hold a slot. A terminating pod (deletionTimestamp set) still runs its
 * containers until it exits, so it counts; a pod in a terminal phase (Succeeded/Failed,
 * e.g. evicted) runs nothing and would otherwise block the wait forever.
 */
export function livePods(pods: readonly Pod[]): Pod[] {
  return pods.filter((p) => p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed");
}

export interface RolloutState {
  done: boolean;
  /** The replica count the workload asks for now (spec.replicas; 1 when unset, as the API defaults it). */
  desired: number;
  ready: number;
  /** Pods matching the selector that have not gone yet. */
  podsLeft: number;
  /** What is still missing, for progress lines and timeout errors. */
  waitingFor: string;
}

/**
 * Has the workload reached `target`?
 * - down (target 0): spec.replicas is 0, the controller has seen that generation, and no pod
 *   matching the selector is left, terminating ones included. The controller's own counters
 *   drop to 0 as soon as pods are marked for deletion, before they stop, so they are not enough.
 * - up: the controller has seen the current generation and every desired replica is updated
 *   and ready; for a StatefulSet also currentRevision == updateRevision. `desired` is the live
 *   spec.replicas, which an HPA may have moved from `target` (reported, not a failure).
 *   StatefulSets are read as `kubectl rollout status` reads them: with updateStrategy OnDelete
 *   the controller never replaces old pods nor moves currentRevision, so every replica ready is
 *   done; with a RollingUpdate partition, the pods from the partition up must be updated.
 */
export function rolloutState(workload: Workload, pods: readonly Pod[], target: number): RolloutState {
  const desired = workload.spec.replicas ?? 1;
  const status = workload.status ?? {};
  const ready = status.readyReplicas ?? 0;
  const podsLeft = livePods(pods).length;
  const generation = workload.metadata.generation ?? 0;
  const observed = (status.observedGeneration ?? 0) >= generation;
  const state = (done: boolean, waitingFor: string): RolloutState => ({
    done,
    desired,
    ready,
    podsLeft,
    waitingFor,
  });

  if (target === 0) {
    if (desired !== 0) return state(false, `spec.replicas to become 0 (is ${desired})`);
    if (!observed) return state(false, "the controller to observe the new generation");
    if (podsLeft > 0) return state(false, `${podsLeft} pod(s) to terminate`);
    return state(true, "nothing");
  }
  if (desired === 0) return state(false, `spec.replicas to become ${target} (is 0)`);
  if (!observed) return state(false, "the controller to observe the new generation");
  const updated = status.updatedReplicas ?? 0;
  const current = status.replicas ?? 0;
  const strategy = workload.spec.updateStrategy;
  if (strategy?.type === "OnDelete") {
    if (ready !== desired)
      return state(false, `${desired - ready} replica(s) to become ready (${ready}/${desired})`);
    if (current !== desired) return state(false, `${current - desired} old replica(s) to go`);
    return state(true, "nothing");
  }
  const partition = strategy?.rollingUpdate?.partition ?? 0;
  if (partition > 0) {
    const needed = Math.max(0, desired - partition);
    if (updated < needed) return state(false, `${needed - updated} replica(s) to be updated`);
    if (ready !== desired)
      return state(false, `${desired - ready} replica(s) to become ready (${ready}/${desired})`);
    if (current !== desired) return state(false, `${current - desired} old replica(s) to go`);
    return state(true, "nothing");
  }
  if (updated !== desired) return state(false, `${desired - updated} replica(s) to be updated`);
  if (ready !== desired)
    return state(false, `${desired - ready} replica(s) to become ready (${ready}/${desired})`);
  if (current !== desired) return state(false, `${current - desired} old replica(s) to go`);
  if (status.updateRevision !== undefined && status.currentRevision !== status.updateRevision) {
    return state(false, `revision ${status.updateRevision} to roll out`);
  }
  return state(true, "nothing");
}

/** The HPA whose scaleTargetRef is this workload, if any. */
export function findHpa(
  hpas: readonly HorizontalPodAutoscaler[],
  kind: WorkloadKind,
  name: string,
): HorizontalPodAutoscaler | undefined {
  return hpas.find((h) => h.spec.scaleTargetRef.kind === kind && h.spec.scaleTargetRef.name === name);
}

/**
 * What an HPA means for this step, or undefined when it changes nothing.
 * With spec.replicas 0 the HPA controller disables itself (condition ScalingActive=False,
 * reason ScalingDisabled) unless minReplicas is 0 (the HPAScaleToZero feature), in which case
 * it may scale the workload back up during maintenance. On the way up it clamps the count
 * into [minReplicas, maxReplicas].
 */
export function hpaNotice(
  hpa: HorizontalPodAutoscaler,
  workloadName: string,
  target: number,
): string | undefined {
  const min = hpa.spec.minReplicas ?? 1;
  const max = hpa.spec.maxReplicas;
  const ref = `HorizontalPodAutoscaler ${hpa.metadata.name} (min ${min}, max ${max}) targets ${workloadName}`;
  if (target === 0) {
    return min === 0
      ? `${ref}: minReplicas 0 lets it scale the workload up again from 0 during maintenance; set minReplicas >= 1 or delete it first`
      : undefined;
  }
  if (target < min || target > max) {
    return `${ref}: it will move the restored count ${target} into [${min}, ${max}]`;
  }
  return undefined;
}

/**
 * A warning when Sidekiq's pods would be killed before Sidekiq finishes its own shutdown
 * (in-flight jobs would be lost), or undefined when the grace period is long enough.
 */
export function gracePeriodWarning(
  workloadName: string,
  gracePeriodSeconds: number | undefined,
  sidekiqTimeoutSeconds = SIDEKIQ_SHUTDOWN_TIMEOUT_SECONDS,
): string | undefined {
  const grace = gracePeriodSeconds ?? DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS;
  const needed = sidekiqTimeoutSeconds + SIDEKIQ_SHUTDOWN_MARGIN_SECONDS;
  if (grace >= needed) return undefined;
  return (
    `${workloadName}: terminationGracePeriodSeconds is ${grace}s${gracePeriodSeconds === undefined ? " (Kubernetes default)" : ""}, ` +
    `less than Sidekiq's shutdown timeout ${sidekiqTimeoutSeconds}s + ${SIDEKIQ_SHUTDOWN_MARGIN_SECONDS}s; ` +
    `pods are killed before in-flight jobs are pushed back: raise it to at least ${needed}s in the pod template`
  );
}

/** The images of a workload's pod template, `container=image` joined: what a version guard compares. */
export function templateImages(workload: Workload): string {
  return (workload.spec.template?.spec?.containers ?? [])
    .map((container) => `${container.name}=${container.image ?? ""}`)
    .join(",");
}
