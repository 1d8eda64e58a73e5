/**
 * Wait until a scaled Deployment/StatefulSet has reached its target: every pod gone on the
 * way down, every replica updated and ready on the way up. Polls the API (a watch is harder
 * to resume), reports progress, fails after a timeout. The polls start a quarter second apart
 * and double up to the configured interval: most scale steps settle within a second or two (a
 * pod's shutdown), and a flat 5 s cadence made each such step last 5 s (bench/window.ts).
 */
import { abortReason } from "../deadline";
import { MaintenanceError } from "../errors";
import { formatSeconds, quietProgress, realClock, type Clock, type ProgressReporter } from "../progress";
import type { WorkloadKind } from "../plan/services";
import { kubePaths, type KubeClient } from "./client";
import {
  findHpa,
  hpaNotice,
  rolloutState,
  selectorString,
  type HorizontalPodAutoscaler,
  type Pod,
  type RolloutState,
  type Workload,
} from "./workload";

export interface RolloutTarget {
  namespace: string;
  kind: WorkloadKind;
  name: string;
  targetCount: number;
}

export interface RolloutResult {
  /** spec.replicas once the target was reached (an HPA may have clamped it on the way up). */
  reachedCount: number;
  readyReplicas: number;
  seconds: number;
  /** The HPA that targets the workload, if any: recorded so the audit trail shows who else scales it. */
  hpa?: { name: string; minReplicas: number; maxReplicas: number };
}

export interface WaitOptions {
  timeoutSeconds: number;
  reporter: ProgressReporter;
  pollSeconds?: number;
  /** Progress at most this often while nothing changes. */
  reportEverySeconds?: number;
  clock?: Clock;
  /** Aborts the wait (the engine that asked for the step has gone); the replicas already set stay. */
  signal?: AbortSignal;
}

/** First delay between two polls; each next one doubles, up to the configured interval. */
export const FIRST_POLL_MS = 250;

/** Delay before poll `attempt + 1` (attempt 0 is the first re-check). */
export function pollDelayMs(attempt: number, pollMs: number): number {
  return Math.min(pollMs, FIRST_POLL_MS * 2 ** Math.min(attempt, 30));
}

export async function readWorkload(client: KubeClient, target: RolloutTarget): Promise<Workload> {
  const workload = await client.get<Workload>(kubePaths.workload(target.namespace, target.kind, target.name));
  if (!workload) {
    throw new MaintenanceError(
      `${target.kind} ${target.namespace}/${target.name} not found; set services.<key>.name / kind to the workload's name and kind`,
    );
  }
  return workload;
}

async function readHpa(client: KubeClient, target: RolloutTarget, reporter: ProgressReporter) {
  try {
    return findHpa(
      await client.list<HorizontalPodAutoscaler>(kubePaths.hpas(target.namespace)),
      target.kind,
      target.name,
    );
  } catch (error) {
    // An RBAC role without HPA read access must not block maintenance; the operator is told.
    reporter.warn(
      `could not list HorizontalPodAutoscalers in ${target.namespace}: ${(error as Error).message}`,
    );
    return undefined;
  }
}

export async function waitForRollout(
  client: KubeClient,
  target: RolloutTarget,
  options: WaitOptions,
): Promise<RolloutResult> {
  const clock = options.clock ?? realClock;
  const pollMs = (options.pollSeconds ?? 5) * 1000;
  const reportEveryMs = (options.reportEverySeconds ?? 30) * 1000;
  const { reporter } = options;
  const label = `${target.kind} ${target.namespace}/${target.name}`;
  const started = clock.now();
  const deadline = started + options.timeoutSeconds * 1000;

  const hpa = await readHpa(client, target, reporter);
  if (hpa) {
    const notice = hpaNotice(hpa, target.name, target.targetCount);
    if (notice) reporter.warn(notice);
  }

  const progress = quietProgress(reporter, clock, reportEveryMs);
  let state: RolloutState | undefined;
  for (let attempt = 0; ; attempt++) {
    const workload = await readWorkload(client, target);
    const pods = await client.list<Pod>(
      kubePaths.pods(target.namespace),
      selectorString(workload.spec.selector),
    );
    state = rolloutState(workload, pods, target.targetCount);
    const left = Math.max(0, deadline - clock.now());
    if (state.done) {
      const seconds = Math.round((clock.now() - started) / 1000);
      if (target.targetCount > 0 && state.desired !== target.targetCount) {
        reporter.warn(
          `${label}: asked for ${target.targetCount} replicas, it runs ${state.desired} (changed by an HPA or another controller)`,
        );
      }
      reporter.info(
        target.targetCount === 0
          ? `${label}: no pods left after ${formatSeconds(seconds)}`
          : `${label}: ${state.ready}/${state.desired} ready after ${formatSeconds(seconds)}`,
      );
      return {
        reachedCount: state.desired,
        readyReplicas: state.ready,
        seconds,
        ...(hpa
          ? {
              hpa: {
                name: hpa.metadata.name,
                minReplicas: hpa.spec.minReplicas ?? 1,
                maxReplicas: hpa.spec.maxReplicas,
              },
            }
          : {}),
      };
    }
    if (left <= 0) break;
    if (options.signal?.aborted) {
      throw new MaintenanceError(
        `${label}: stopped waiting for ${state.waitingFor}: ${abortReason(options.signal)}`,
      );
    }
    const line =
      target.targetCount === 0
        ? `${label}: ${state.podsLeft} pod(s) left, waiting for ${state.waitingFor}`
        : `${label}: ${state.ready}/${state.desired} ready, waiting for ${state.waitingFor}`;
    progress(line, `${line}; ${formatSeconds(left / 1000)} left`);
    await clock.sleep(Math.min(pollDelayMs(attempt, pollMs), left), options.signal);
  }
  throw new MaintenanceError(
    `${label} did not reach ${target.targetCount} replica(s) within ${formatSeconds(options.timeoutSeconds)}: ` +
      `still waiting for ${state.waitingFor} (${state.podsLeft} pod(s), ${state.ready} ready); ` +
      `raise tines-maintenance:stepTimeoutSeconds or check the pods (kubectl -n ${target.namespace} get pods)`,
  );
}
